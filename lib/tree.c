#include "config.h"
#include "tree.h"
