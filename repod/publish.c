#include "config.h"
#include "repod/publish.h"
int repod_publish_unused(void);
int repod_publish_unused(void) { return 0; }
