/* The backends' shared terminal rules (terminal_check.h). */
#include "lifecycle/terminal_check.h"

int vs_create_check_terminal(const vs_config *cfg, const vs_create_opts *opts, vs_err *err)
{
	if (cfg->process.terminal && !opts->console_socket && !opts->console_proxy)
		return vs_fail(err, 0,
			       "config.json: process.terminal: needs --console-socket when "
			       "detached");
	if (!cfg->process.terminal && opts->console_socket)
		return vs_fail(err, 0,
			       "--console-socket: process.terminal is false, there is no terminal "
			       "to send");
	return 0;
}
