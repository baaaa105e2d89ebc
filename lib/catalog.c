/* The catalog: see catalog.h. */
#include "config.h"

#include "catalog.h"
