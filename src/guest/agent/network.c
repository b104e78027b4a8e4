/* network: interfaces, addresses and routes with rtnetlink. */
#include "agent.h"

#include <errno.h>

int net_configure(json_object *req, vs_err *err)
{
	(void)req;
	return vs_fail(err, ENOTSUP, "network: not implemented yet");
}
