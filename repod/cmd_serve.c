/* ferry-repod serve. */
#include "config.h"

#include <stdio.h>

#include "repod/repod.h"

int
cmd_serve(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return repod_failf("serve: not yet");
}
