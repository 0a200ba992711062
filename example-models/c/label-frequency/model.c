/*
 * A baseline for classification projects: suggests the choice annotators picked most often
 * in the project, learning from annotation webhooks through the store.
 *
 * Store layout (the same in every language): `annotation/<id>` holds the JSON array of the
 * choices that annotation selected, e.g. ["Positive"]. Specified in example-models/MODELS.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasml.h"

#define KEY_PREFIX "annotation/"

const wasml_model_info wasml_model = {
    .name = "Label frequency",
    .version = "1.0.0",
    .description =
        "Suggests the choice annotators picked most often in the project (a baseline).",
    .interactive = false,
};

/* The control this model predicts for: the first Choices control that names an object. */
static wasml_status find_control(const wasml_call *call, const wasml_control **control) {
    const wasml_label_config *config = &call->label_config;
    for (size_t i = 0; i < config->n_controls; i++) {
        const wasml_control *c = &config->controls[i];
        if (strcmp(c->tag, "Choices") == 0 && c->n_to_name > 0) {
            *control = c;
            return WASML_OK;
        }
    }
    return wasml_fail(WASML_UNSUPPORTED_CONFIG, "label-frequency needs a Choices control");
}

/* ---- fit --------------------------------------------------------------------------------- */

/* The store key of annotation `id`. */
static void annotation_key(int64_t id, char key[static 32]) {
    snprintf(key, 32, KEY_PREFIX "%" PRId64, id);
}

/* The choices `annotation` selected for `control`, as a new JSON array (possibly empty). */
static cJSON *choices_of(const cJSON *annotation, const wasml_control *control) {
    cJSON *choices = wasml_checked(cJSON_CreateArray());
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(annotation, "result");
    const cJSON *item;
    cJSON_ArrayForEach(item, wasml_as_array(result)) {
        const char *from_name = wasml_string_member(item, "from_name");
        const char *type = wasml_string_member(item, "type");
        if (from_name == NULL || strcmp(from_name, control->name) != 0 || type == NULL ||
            strcmp(type, "choices") != 0) {
            continue;
        }
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(item, "value");
        const cJSON *selected = cJSON_GetObjectItemCaseSensitive(value, "choices");
        const cJSON *choice;
        cJSON_ArrayForEach(choice, wasml_as_array(selected)) {
            if (cJSON_IsString(choice)) {
                wasml_append(choices, wasml_checked(cJSON_CreateString(choice->valuestring)));
            }
        }
    }
    return choices;
}

/* Deletes the key of annotation `id`; sets `*changed` when it existed. */
static wasml_status forget(int64_t id, bool *changed) {
    char key[32];
    annotation_key(id, key);
    bool existed = false;
    wasml_status status = wasml_store_delete(key, &existed);
    *changed |= existed;
    return status;
}

/* Stores the choices of `annotation` (an object with integer id `id`), or forgets it when it
 * was cancelled or has none; sets `*changed` when the store changed. */
static wasml_status remember(const cJSON *annotation, int64_t id,
                             const wasml_control *control, bool *changed) {
    cJSON *choices = choices_of(annotation, control);
    bool cancelled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(annotation, "was_cancelled"));
    wasml_status status;
    if (cancelled || cJSON_GetArraySize(choices) == 0) {
        status = forget(id, changed);
    } else {
        char key[32];
        annotation_key(id, key);
        status = wasml_store_set_json(key, choices);
        *changed |= status == WASML_OK;
    }
    cJSON_Delete(choices);
    return status;
}

/* The number of stored annotations. */
static wasml_status count_annotations(size_t *count) {
    wasml_keys keys;
    wasml_status status = wasml_store_list_keys(KEY_PREFIX, &keys);
    if (status == WASML_OK) {
        *count = keys.len;
        wasml_keys_free(&keys);
    }
    return status;
}

/* Applies one webhook event to the store. */
static wasml_status apply_event(const char *event, const cJSON *payload,
                                const wasml_control *control, bool *changed) {
    int64_t id;
    if (strcmp(event, "ANNOTATION_CREATED") == 0 || strcmp(event, "ANNOTATION_UPDATED") == 0) {
        const cJSON *annotation = cJSON_GetObjectItemCaseSensitive(payload, "annotation");
        if (!cJSON_IsObject(annotation) || !wasml_int_member(annotation, "id", &id)) {
            return wasml_fail(WASML_INVALID_INPUT, "the annotation has no integer id");
        }
        return remember(annotation, id, control, changed);
    }
    bool created = strcmp(event, "ANNOTATIONS_CREATED") == 0;
    /* Label Studio sends the plural; Label Studio's reference backend spells the singular. */
    bool deleted =
        strcmp(event, "ANNOTATIONS_DELETED") == 0 || strcmp(event, "ANNOTATION_DELETED") == 0;
    if (!created && !deleted) {
        return WASML_OK; /* START_TRAINING and the rest: nothing to learn */
    }
    const cJSON *annotation;
    cJSON_ArrayForEach(annotation, wasml_event_annotations(payload)) {
        if (!cJSON_IsObject(annotation) || !wasml_int_member(annotation, "id", &id)) {
            continue;
        }
        wasml_status status =
            created ? remember(annotation, id, control, changed) : forget(id, changed);
        if (status != WASML_OK) {
            return status; /* the host discards this call's writes */
        }
    }
    return WASML_OK;
}

wasml_status wasml_fit(const wasml_call *call, const char *event, const cJSON *payload,
                       wasml_fit_outcome *outcome) {
    const wasml_control *control;
    bool changed = false;
    size_t count = 0;
    wasml_status status = find_control(call, &control);
    if (status == WASML_OK) {
        status = apply_event(event, payload, control, &changed);
    }
    if (status == WASML_OK) {
        status = count_annotations(&count);
    }
    if (status != WASML_OK) {
        return status;
    }
    outcome->result = wasml_checked(cJSON_CreateObject());
    wasml_checked(cJSON_AddNumberToObject(outcome->result, "annotations", (double)count));
    outcome->trained = changed;
    return WASML_OK;
}

/* ---- predict ------------------------------------------------------------------------------ */

/* How often each label was chosen. */
typedef struct tally {
    size_t len, cap;
    struct count {
        char *label; /* owned */
        size_t count;
    } *counts;
    size_t total;
} tally;

/* Counts one choice of `label`. */
static void tally_add(tally *t, const char *label) {
    t->total++;
    for (size_t i = 0; i < t->len; i++) {
        if (strcmp(t->counts[i].label, label) == 0) {
            t->counts[i].count++;
            return;
        }
    }
    if (t->len == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 8;
        t->counts = realloc(t->counts, t->cap * sizeof *t->counts);
    }
    char *copy = strdup(label);
    if (t->counts == NULL || copy == NULL) {
        __builtin_trap(); /* out of memory */
    }
    t->counts[t->len++] = (struct count){.label = copy, .count = 1};
}

/* Frees the labels and the counts. */
static void tally_free(tally *t) {
    for (size_t i = 0; i < t->len; i++) {
        free(t->counts[i].label);
    }
    free(t->counts);
    *t = (tally){0};
}

/* Counts the choices of every stored annotation; values that are not JSON lists of strings
 * are ignored. */
static wasml_status tally_store(tally *t) {
    wasml_keys keys;
    wasml_status status = wasml_store_list_keys(KEY_PREFIX, &keys);
    if (status != WASML_OK) {
        return status;
    }
    for (size_t i = 0; status == WASML_OK && i < keys.len; i++) {
        char *bytes;
        size_t len;
        bool found;
        status = wasml_store_get(keys.keys[i], &bytes, &len, &found);
        if (status != WASML_OK || !found) {
            continue;
        }
        cJSON *choices = wasml_json_parse(bytes, len);
        free(bytes);
        if (wasml_is_string_array(choices)) {
            const cJSON *choice;
            cJSON_ArrayForEach(choice, choices) {
                tally_add(t, choice->valuestring);
            }
        }
        cJSON_Delete(choices);
    }
    wasml_keys_free(&keys);
    return status;
}

/* Where `label` ranks among the control's labels on a tie: its position, or after every
 * listed label when the config does not list it. */
static size_t label_rank(const wasml_control *control, const char *label) {
    for (size_t i = 0; i < control->n_labels; i++) {
        if (strcmp(control->labels[i].value, label) == 0) {
            return i;
        }
    }
    return control->n_labels;
}

/* True when `a` beats `b`: more votes, then the config's order, then code point order
 * (strcmp compares UTF-8 bytes as unsigned, which is code point order). */
static bool beats(const wasml_control *control, const struct count *a, const struct count *b) {
    if (a->count != b->count) {
        return a->count > b->count;
    }
    size_t rank_a = label_rank(control, a->label), rank_b = label_rank(control, b->label);
    if (rank_a != rank_b) {
        return rank_a < rank_b;
    }
    return strcmp(a->label, b->label) < 0;
}

wasml_status wasml_predict(const wasml_call *call, const cJSON *tasks, const cJSON *context,
                           cJSON *predictions) {
    (void)context;
    const wasml_control *control;
    wasml_status status = find_control(call, &control);
    tally t = {0};
    if (status == WASML_OK) {
        status = tally_store(&t);
    }
    if (status != WASML_OK) {
        tally_free(&t);
        return status;
    }
    const struct count *winner = NULL;
    for (size_t i = 0; i < t.len; i++) {
        if (winner == NULL || beats(control, &t.counts[i], winner)) {
            winner = &t.counts[i];
        }
    }
    const cJSON *task;
    cJSON_ArrayForEach(task, tasks) {
        if (t.total == 0) {
            wasml_append(predictions, wasml_prediction(NULL));
            continue;
        }
        double score = (double)winner->count / (double)t.total;
        const char *choice = winner->label;
        cJSON *region = wasml_region_choices(control->name, control->to_name[0], &choice, 1);
        cJSON *result = wasml_checked(cJSON_CreateArray());
        wasml_append(result, wasml_with_score(region, score));
        wasml_append(predictions, wasml_with_score(wasml_prediction(result), score));
    }
    tally_free(&t);
    return WASML_OK;
}
