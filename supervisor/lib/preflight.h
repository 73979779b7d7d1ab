/*
 * preflight.h - the checks `rover task`, `restart`, `resume --image` and
 * `rover init` make before anything exists or changes, so that a wrong
 * image or a missing input is refused with a clear line and nothing to
 * clean up (no record, workspace or branch).
 *
 * Calling sequence (rover task):
 *     engine_discover(opt, &e, &err)            the engine answers
 *     preflight_image(e, image, &info, &err)    the image is on that engine
 *     preflight_inputs(wf, name, inputs, &err)  every required input is given
 *     ... create_task() ...
 *
 * Nothing is printed; errors say what to do next.
 */
#ifndef ROVER_PREFLIGHT_H
#define ROVER_PREFLIGHT_H

#include <json-c/json.h>

#include "agent-runner/workflow.h"
#include "common/error.h"
#include "supervisor/lib/engine.h"

/* The image is on engine e (never pulled).  Missing: -ENOENT "image 'x' is
 * not on the docker engine at unix:///...: build or pull it, or choose
 * another with --image"; other engine errors as engine_image_inspect.
 * *ret (may be NULL; engine_image_info_release) only on success. */
int preflight_image(struct engine *e, const char *image, struct engine_image_info *ret,
		    struct rv_error **err);

/* Every input of wf gets a valid value from inputs (a JSON object of
 * strings) or its default (workflow_check_input).  Missing: -EINVAL
 * "workflow 'name' needs input 'x' (its description): pass -i x=VALUE". */
int preflight_inputs(const struct workflow *wf, const char *wf_name, struct json_object *inputs,
		     struct rv_error **err);

/* Pure: "1.2 GB", "35.1 MB", "812 kB", "12 B" (decimal units, as the
 * engines' CLIs show image sizes); buf of at least 16 bytes. */
const char *preflight_format_size(int64_t bytes, char *buf, size_t len);

#endif
