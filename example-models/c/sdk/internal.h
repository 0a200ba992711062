/* Declarations shared by the helper layer's own files; not for models. */
#ifndef WASML_INTERNAL_H
#define WASML_INTERNAL_H

#include "wasml.h"

/* Forgets the message of the previous call's failure. */
void wasml_error_reset(void);

/* Checks that task number `index` has the shape of a Label Studio task, as the Rust helper
 * layer's typed parsing does: an object whose `id` is an integer (or null or absent),
 * `data` an object (or absent), and `annotations` a list (or absent) of objects whose `id`
 * is an integer, `result` a list of regions and `was_cancelled` a bool (each optional).
 * Fails with WASML_INVALID_INPUT otherwise. */
wasml_status wasml_check_task(const cJSON *task, size_t index);

/* Checks that `context` has the shape of an interactive context: an object whose
 * `user_id`, `annotation_id` and `draft_id` are integers, and `result` a list of regions
 * (objects with string `from_name`, `to_name` and `type`, a `value`, and optionally a
 * string `id` and a number `score`); null or absent fields are fine. Fails with
 * WASML_INVALID_INPUT otherwise. */
wasml_status wasml_check_context(const cJSON *context);

#endif /* WASML_INTERNAL_H */
