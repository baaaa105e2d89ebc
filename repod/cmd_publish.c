/* ferry-repod init, publish, refresh, status, log, prune. */
#include "config.h"

#include <stdio.h>

#include "repod/repod.h"

#define STUB(n) int n(int argc, char **argv) { (void)argc; (void)argv; \
	return repod_failf("%s: not yet", #n); }
STUB(cmd_init)
STUB(cmd_publish)
STUB(cmd_refresh)
STUB(cmd_status)
STUB(cmd_log)
STUB(cmd_prune)
