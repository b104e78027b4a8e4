/* process.consoleSize: the terminal's rows and columns (TIOCSWINSZ). */
#include "core/json.h"
#include "oci/config.h"

int vs_console_size_parse(json_object *proc, const char *where, vs_process *p, vs_err *err)
{
	json_object *size;
	char W[160];
	if (vs_json_get_object(proc, where, "consoleSize", &size, err) < 0)
		return -1;
	if (!size)
		return 0;
	vs_json_path(W, sizeof(W), where, "consoleSize");
	int64_t h, w;
	int rh = vs_json_get_int(size, W, "height", 0, 65535, &h, err);
	if (rh < 0)
		return -1;
	int rw = vs_json_get_int(size, W, "width", 0, 65535, &w, err);
	if (rw < 0)
		return -1;
	p->has_console_size = true;
	p->console_height = rh > 0 ? (unsigned short)h : 0;
	p->console_width = rw > 0 ? (unsigned short)w : 0;
	return 0;
}
