#include "core/strv.h"

#include <stdlib.h>

void vs_strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}
