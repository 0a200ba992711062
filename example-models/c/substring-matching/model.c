/*
 * Interactive NER, after Label Studio's substring-matching example: when the user labels a
 * span of text, every occurrence of that text in the task gets the same label.
 *
 * Offsets are UTF-16 code units, as Label Studio's front end counts them, so spans stay in
 * place in text with accents, CJK or emoji. Specified in example-models/MODELS.md.
 */
#include <stdlib.h>

#include "wasml.h"

/* Matches copy the user's certainty about the text, not a model's. */
#define MATCH_SCORE 1.0

const wasml_model_info wasml_model = {
    .name = "Substring matching",
    .version = "1.0.0",
    .description = "Labels every occurrence of the text span the user just labeled (interactive).",
    .interactive = true,
};

WASML_DEFAULT_FIT

/* Appends to `regions` a region for every occurrence in `text` of `needle`. */
static void label_occurrences(cJSON *regions, const char *text, const char *needle,
                              const char *from_name, const char *to_name, const char *label) {
    wasml_matches matches;
    wasml_matches_init(&matches, text, needle);
    size_t start, end;
    while (wasml_matches_next(&matches, &start, &end)) {
        cJSON *region =
            wasml_region_labels_span(from_name, to_name, start, end, needle, &label, 1);
        wasml_append(regions, wasml_with_score(region, MATCH_SCORE));
    }
}

/* Appends to `regions` the matches, in `task`, of the labeled span `selected`. */
static wasml_status match_selected(const wasml_call *call, const cJSON *task,
                                   const cJSON *selected, cJSON *regions) {
    wasml_span span;
    if (!wasml_region_span(selected, &span) || cJSON_GetArraySize(span.labels) == 0) {
        return WASML_OK; /* not a labeled text span */
    }
    const char *label = cJSON_GetArrayItem(span.labels, 0)->valuestring;
    const char *from_name = wasml_string_member(selected, "from_name");
    const char *to_name = wasml_string_member(selected, "to_name");
    const wasml_control *control = wasml_control_named(&call->label_config, from_name);
    if (control == NULL) {
        return WASML_OK; /* a control of another project's config */
    }
    const wasml_input *input = wasml_control_input(control, to_name);
    if (input == NULL) {
        return wasml_fail(WASML_INVALID_INPUT, "no object named %s", to_name);
    }
    const char *key = input->value != NULL ? input->value : "";
    const char *text = wasml_task_text(task, key);
    if (text == NULL) {
        return wasml_fail(WASML_INVALID_INPUT, "task data has no text at \"%s\"", key);
    }
    if (span.text != NULL && span.text[0] != '\0') {
        label_occurrences(regions, text, span.text, from_name, to_name, label);
        return WASML_OK;
    }
    char *needle = wasml_slice_utf16(text, span.start, span.end);
    if (needle != NULL) { /* else: offsets outside this task's text */
        label_occurrences(regions, text, needle, from_name, to_name, label);
        free(needle);
    }
    return WASML_OK;
}

wasml_status wasml_predict(const wasml_call *call, const cJSON *tasks, const cJSON *context,
                           cJSON *predictions) {
    const cJSON *selections = wasml_context_result(context);
    const cJSON *task;
    cJSON_ArrayForEach(task, tasks) {
        if (selections == NULL) {
            /* Not interactive: nothing to match yet, but still one slot per task. */
            wasml_append(predictions, wasml_prediction(NULL));
            continue;
        }
        cJSON *prediction = wasml_prediction(NULL);
        /* Attach first, so the glue frees it if a selection fails the call. */
        wasml_append(predictions, wasml_with_score(prediction, MATCH_SCORE));
        cJSON *regions = cJSON_GetObjectItemCaseSensitive(prediction, "result");
        const cJSON *selected;
        cJSON_ArrayForEach(selected, selections) {
            wasml_status status = match_selected(call, task, selected, regions);
            if (status != WASML_OK) {
                return status;
            }
        }
    }
    return WASML_OK;
}
