#define _GNU_SOURCE
#include "preflight.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"

int preflight_image(struct engine *e, const char *image, struct engine_image_info *ret,
		    struct rv_error **err)
{
	struct engine_image_info info = {0};
	int r = engine_image_inspect(e, image, &info, err);
	if (r == -ENOENT)
		return rv_error_set(
			err, ENOENT,
			"image '%s' is not on the %s engine at %s: build or pull it, or "
			"choose another with --image",
			image, engine_kind_name(engine_get_kind(e)), engine_get_uri(e));
	if (r < 0)
		return r;
	if (ret)
		*ret = info;
	else
		engine_image_info_release(&info);
	return 0;
}

int preflight_inputs(const struct workflow *wf, const char *wf_name, struct json_object *inputs,
		     struct rv_error **err)
{
	for (size_t i = 0; i < wf->n_inputs; i++) {
		const struct workflow_input *in = &wf->inputs[i];
		const char *have = jsonutil_get_str(inputs, in->name);
		_cleanup_error_ struct rv_error *e = NULL;
		int r = workflow_check_input(in, have, &e);
		if (r == 0)
			continue;
		if (!have && !in->default_value) {
			const char *about = in->description ? in->description : in->label;
			return rv_error_set(
				err, EINVAL,
				"workflow '%s' needs input '%s'%s%s%s: pass -i %s=VALUE", wf_name,
				in->name, about ? " (" : "", about ? about : "", about ? ")" : "",
				in->name);
		}
		return rv_error_set(err, -r, "workflow '%s': %s", wf_name, rv_error_msg(e));
	}
	return 0;
}

const char *preflight_format_size(int64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)(bytes < 0 ? 0 : bytes);
	size_t u = 0;
	while (v >= 1000.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lld B", (long long)(bytes < 0 ? 0 : bytes));
	else
		snprintf(buf, len, v < 100.0 ? "%.1f %s" : "%.0f %s", v, units[u]);
	return buf;
}
