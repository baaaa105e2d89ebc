#include "config.h"
#include "repod/keyd.h"
int repod_keyd_unused(void);
int repod_keyd_unused(void) { return 0; }
