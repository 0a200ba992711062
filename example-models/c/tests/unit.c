/*
 * Unit tests of the helper layer's host-independent parts (UTF-16 offsets, JSON reading and
 * building, label config lookups), compiled natively by ../test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int passed, failed;

/* Records one check; prints the failing expression and line. */
#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (cond) {                                                                           \
            passed++;                                                                         \
        } else {                                                                              \
            failed++;                                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
        }                                                                                     \
    } while (0)

/* Compares a malloc'd string with the expected one, then frees it. */
static bool same_and_free(char *got, const char *want) {
    bool same = got != NULL && want != NULL ? strcmp(got, want) == 0 : got == NULL && want == NULL;
    free(got);
    return same;
}

/* The UTF-16 spans of every match, as "s-e,s-e,". */
static bool matches_are(const char *haystack, const char *needle, const char *want) {
    char got[256] = "";
    wasml_matches m;
    wasml_matches_init(&m, haystack, needle);
    size_t start, end;
    while (wasml_matches_next(&m, &start, &end)) {
        snprintf(got + strlen(got), sizeof got - strlen(got), "%zu-%zu,", start, end);
    }
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "matches of \"%s\" in \"%s\": %s, want %s\n", needle, haystack, got, want);
        return false;
    }
    return true;
}

static void test_utf16_offsets(void) {
    const char *text = "a\xF0\x9F\x98\x80\xC3\xA9 b"; /* "a😀é b": 1 + 2 + 1 + 1 + 1 units */
    size_t byte = 0;
    CHECK(wasml_utf16_len(text, strlen(text)) == 6);
    CHECK(wasml_utf16_to_byte(text, 3, &byte) && byte == 5);
    CHECK(!wasml_utf16_to_byte(text, 2, &byte)); /* inside the surrogate pair */
    CHECK(wasml_utf16_to_byte(text, 6, &byte) && byte == strlen(text));
    CHECK(!wasml_utf16_to_byte(text, 7, &byte));
    CHECK(same_and_free(wasml_slice_utf16(text, 3, 4), "\xC3\xA9"));
    CHECK(same_and_free(wasml_slice_utf16(text, 1, 3), "\xF0\x9F\x98\x80"));
    CHECK(same_and_free(wasml_slice_utf16(text, 2, 4), NULL));
    CHECK(same_and_free(wasml_slice_utf16(text, 4, 3), NULL));
    CHECK(same_and_free(wasml_slice_utf16(text, 6, 6), ""));
}

static void test_matches(void) {
    CHECK(matches_are("\xF0\x9F\x98\x80" "ab ab", "ab", "2-4,5-7,"));
    CHECK(matches_are("aaaa", "aa", "0-2,2-4,"));
    CHECK(matches_are("aaa", "aa", "0-2,"));
    CHECK(matches_are("abc", "", ""));
    CHECK(matches_are("abc", "x", ""));
    /* "Ünïcödé Ünï": every character is one unit. */
    CHECK(matches_are("\xC3\x9Cn\xC3\xAF" "c\xC3\xB6" "d\xC3\xA9 \xC3\x9Cn\xC3\xAF",
                      "\xC3\x9Cn\xC3\xAF", "0-3,8-11,"));
    /* CJK is one unit per character, emoji two. */
    CHECK(matches_are("\xE4\xB8\xAD\xF0\x9F\x98\x80\xE4\xB8\xAD", "\xE4\xB8\xAD", "0-1,3-4,"));
    CHECK(matches_are("\xF0\x9F\x98\x80\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80", "0-2,2-4,"));
}

static void test_json_parse(void) {
    const char *ok = " {\"a\": [1, \"x\"]} \n";
    cJSON *json = wasml_json_parse(ok, strlen(ok));
    CHECK(cJSON_IsObject(json));
    cJSON_Delete(json);
    /* Not NUL-terminated: only the first 7 bytes are the input. */
    CHECK((json = wasml_json_parse("[1, 2] garbage", 7)) != NULL);
    cJSON_Delete(json);
    CHECK(wasml_json_parse("[1, 2] x", 8) == NULL);
    CHECK(wasml_json_parse("{} {}", 5) == NULL);
    CHECK(wasml_json_parse("", 0) == NULL);
    CHECK(wasml_json_parse("{\"a\":", 5) == NULL);
    const char *pair = "\"\\ud83d\\ude00\"";
    CHECK((json = wasml_json_parse(pair, strlen(pair))) != NULL &&
          strcmp(json->valuestring, "\xF0\x9F\x98\x80") == 0);
    cJSON_Delete(json);
    CHECK(wasml_json_parse("\"\\ud83d\"", 8) == NULL); /* a lone surrogate */
}

static void test_reading(void) {
    const char *raw = "{\"data\": {\"text\": \"hi\", \"n\": 1},"
                      " \"value\": {\"start\": 0, \"end\": 2, \"labels\": [\"ORG\"]},"
                      " \"ints\": {\"a\": 3, \"b\": 3.5, \"c\": -4, \"d\": 1e300}}";
    cJSON *json = wasml_json_parse(raw, strlen(raw));
    CHECK(strcmp(wasml_task_text(json, "text"), "hi") == 0);
    CHECK(wasml_task_text(json, "n") == NULL);
    CHECK(wasml_task_text(json, "missing") == NULL);
    CHECK(wasml_task_text(NULL, "text") == NULL);

    wasml_span span;
    CHECK(wasml_region_span(json, &span) && span.start == 0 && span.end == 2 &&
          span.text == NULL && cJSON_GetArraySize(span.labels) == 1);

    const cJSON *ints = cJSON_GetObjectItemCaseSensitive(json, "ints");
    int64_t v = 0;
    CHECK(wasml_int_member(ints, "a", &v) && v == 3);
    CHECK(!wasml_int_member(ints, "b", &v));
    CHECK(wasml_int_member(ints, "c", &v) && v == -4);
    CHECK(!wasml_int_member(ints, "d", &v));
    CHECK(!wasml_int_member(ints, "missing", &v));
    cJSON_Delete(json);

    const char *bad[] = {
        "{\"value\": {\"start\": -1, \"end\": 2}}",
        "{\"value\": {\"start\": 0.5, \"end\": 2}}",
        "{\"value\": {\"start\": 0}}",
        "{\"value\": {\"start\": 0, \"end\": 1, \"text\": 5}}",
        "{\"value\": {\"start\": 0, \"end\": 1, \"labels\": [1]}}",
        "{\"value\": [0, 1]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json = wasml_json_parse(bad[i], strlen(bad[i]));
        CHECK(json != NULL && !wasml_region_span(json, &span));
        cJSON_Delete(json);
    }

    const char *context = "{\"result\": []}";
    json = wasml_json_parse(context, strlen(context));
    CHECK(wasml_context_result(json) == NULL);
    CHECK(wasml_context_result(NULL) == NULL);
    cJSON_Delete(json);
}

/* True when `json` prints as `want` (compact). */
static bool prints_as(const cJSON *json, const char *want) {
    char *got = cJSON_PrintUnformatted(json);
    bool same = got != NULL && strcmp(got, want) == 0;
    if (!same) {
        fprintf(stderr, "printed %s, want %s\n", got ? got : "(null)", want);
    }
    free(got);
    return same;
}

static void test_building(void) {
    const char *labels[] = {"ORG"};
    cJSON *region = wasml_region_labels_span("label", "text", 32, 37, "Apple", labels, 1);
    CHECK(prints_as(wasml_with_score(region, 1.0),
                    "{\"from_name\":\"label\",\"to_name\":\"text\",\"type\":\"labels\","
                    "\"value\":{\"start\":32,\"end\":37,\"text\":\"Apple\",\"labels\":[\"ORG\"]},"
                    "\"score\":1}"));
    cJSON *result = wasml_checked(cJSON_CreateArray());
    wasml_append(result, region);
    cJSON *prediction = wasml_with_score(wasml_prediction(result), 0.5);
    wasml_with_score(prediction, 2.0 / 3.0); /* replaces, not duplicates */
    CHECK(cJSON_GetArraySize(prediction) == 2);
    CHECK(cJSON_GetObjectItemCaseSensitive(prediction, "score")->valuedouble == 2.0 / 3.0);
    cJSON_Delete(prediction);

    const char *choices[] = {"Positive"};
    region = wasml_region_choices("sentiment", "text", choices, 1);
    CHECK(prints_as(region, "{\"from_name\":\"sentiment\",\"to_name\":\"text\","
                            "\"type\":\"choices\",\"value\":{\"choices\":[\"Positive\"]}}"));
    cJSON_Delete(region);
    prediction = wasml_prediction(NULL);
    CHECK(prints_as(prediction, "{\"result\":[]}"));
    cJSON_Delete(prediction);
}

static void test_config_lookups(void) {
    const wasml_input inputs[] = {{.name = "text", .tag = "Text", .value = "text"}};
    const char *const to_name[] = {"text"};
    const wasml_control controls[] = {
        {.name = "label", .tag = "Labels", .n_to_name = 1, .to_name = to_name,
         .n_inputs = 1, .inputs = inputs},
        {.name = "sentiment", .tag = "Choices", .n_to_name = 1, .to_name = to_name},
    };
    const wasml_label_config config = {.raw = "", .n_controls = 2, .controls = controls};
    CHECK(wasml_control_named(&config, "sentiment") == &controls[1]);
    CHECK(wasml_control_named(&config, "nope") == NULL);
    CHECK(wasml_first_control(&config, "Choices") == &controls[1]);
    CHECK(wasml_first_control(&config, "Taxonomy") == NULL);
    CHECK(wasml_control_input(&controls[0], "text") == &inputs[0]);
    CHECK(wasml_control_input(&controls[1], "text") == NULL);
}

/* The status of wasml_check_task (or, with `index` SIZE_MAX, wasml_check_context) on
 * `raw`. */
static wasml_status check(const char *raw, size_t index) {
    cJSON *json = wasml_json_parse(raw, strlen(raw));
    wasml_status status =
        index == SIZE_MAX ? wasml_check_context(json) : wasml_check_task(json, index);
    cJSON_Delete(json);
    return status;
}

static void test_shape_checks(void) {
    CHECK(check("{}", 0) == WASML_OK);
    CHECK(check("{\"id\": 1, \"data\": {\"text\": \"x\"}, \"annotations\": [{}]}", 0) == WASML_OK);
    CHECK(check("{\"id\": null}", 0) == WASML_OK);
    CHECK(check("[]", 3) == WASML_INVALID_INPUT);
    CHECK(strcmp(wasml_error_message(), "task 3: not a JSON object") == 0);
    CHECK(check("{\"id\": \"1\"}", 0) == WASML_INVALID_INPUT);
    CHECK(check("{\"id\": 1.5}", 0) == WASML_INVALID_INPUT);
    CHECK(check("{\"data\": null}", 0) == WASML_INVALID_INPUT);
    CHECK(check("{\"data\": \"text\"}", 0) == WASML_INVALID_INPUT);
    CHECK(check("{\"annotations\": [1]}", 0) == WASML_INVALID_INPUT);
    CHECK(check("{\"annotations\": null}", 0) == WASML_INVALID_INPUT);
    CHECK(check("{\"annotations\": [{\"id\": \"x\"}]}", 0) == WASML_INVALID_INPUT);
    CHECK(check("{\"annotations\": [{\"was_cancelled\": null}]}", 0) == WASML_INVALID_INPUT);
    CHECK(check("{\"annotations\": [{\"result\": [{\"x\": 1}]}]}", 0) == WASML_INVALID_INPUT);
    CHECK(check("{\"annotations\": [{\"id\": 2, \"was_cancelled\": true, \"result\": []}]}", 0) ==
          WASML_OK);

    CHECK(check("{}", SIZE_MAX) == WASML_OK);
    CHECK(check("{\"result\": []}", SIZE_MAX) == WASML_OK);
    CHECK(check("{\"result\": [{\"from_name\": \"l\", \"to_name\": \"t\", \"type\": \"labels\","
                " \"value\": {}}]}", SIZE_MAX) == WASML_OK);
    CHECK(check("{\"result\": [{\"from_name\": \"l\", \"type\": \"labels\", \"value\": {}}]}",
                SIZE_MAX) == WASML_INVALID_INPUT);
    CHECK(check("{\"result\": {}}", SIZE_MAX) == WASML_INVALID_INPUT);
    CHECK(check("{\"result\": null}", SIZE_MAX) == WASML_INVALID_INPUT);
    CHECK(check("{\"user_id\": \"x\"}", SIZE_MAX) == WASML_INVALID_INPUT);
    CHECK(strcmp(wasml_error_message(), "context: `user_id` is not an integer") == 0);
    CHECK(check("{\"user_id\": 3, \"draft_id\": null, \"annotation_id\": 4}", SIZE_MAX) ==
          WASML_OK);
    CHECK(check("{\"result\": [{\"from_name\": \"l\", \"to_name\": \"t\", \"type\": \"labels\","
                " \"value\": null, \"id\": 5}]}", SIZE_MAX) == WASML_INVALID_INPUT);
    CHECK(check("{\"result\": [{\"from_name\": \"l\", \"to_name\": \"t\", \"type\": \"labels\","
                " \"value\": null, \"score\": \"x\"}]}", SIZE_MAX) == WASML_INVALID_INPUT);
    CHECK(check("null", SIZE_MAX) == WASML_INVALID_INPUT);
    CHECK(check("[]", SIZE_MAX) == WASML_INVALID_INPUT);
}

static void test_errors(void) {
    wasml_error_reset();
    CHECK(strcmp(wasml_error_message(), "") == 0);
    CHECK(wasml_fail(WASML_UNSUPPORTED_CONFIG, "no %s control", "Choices") ==
          WASML_UNSUPPORTED_CONFIG);
    CHECK(strcmp(wasml_error_message(), "no Choices control") == 0);
    wasml_fail(WASML_INTERNAL, "second");
    CHECK(strcmp(wasml_error_message(), "second") == 0);
    wasml_error_reset();
}

/* Label Studio 1.23 lists a bulk create's annotations and tasks under the singular keys and a
 * bulk delete's under `annotations`; both shapes are read. */
static void test_bulk_events(void) {
    cJSON *created = cJSON_Parse(
        "{\"annotation\": [{\"id\": 1}, {\"id\": 2}], \"task\": [{\"id\": 7}]}");
    cJSON *deleted = cJSON_Parse("{\"annotations\": [{\"id\": 3}], \"annotation\": {\"id\": 9}}");
    cJSON *neither = cJSON_Parse("{\"annotation\": {\"id\": 1}}");
    CHECK(cJSON_GetArraySize(wasml_event_annotations(created)) == 2);
    CHECK(cJSON_GetArraySize(wasml_event_tasks(created)) == 1);
    CHECK(cJSON_GetArraySize(wasml_event_annotations(deleted)) == 1);
    CHECK(wasml_event_annotations(neither) == NULL);
    CHECK(wasml_event_tasks(neither) == NULL);
    cJSON_Delete(created);
    cJSON_Delete(deleted);
    cJSON_Delete(neither);
}

int main(void) {
    test_utf16_offsets();
    test_matches();
    test_json_parse();
    test_reading();
    test_building();
    test_config_lookups();
    test_shape_checks();
    test_errors();
    test_bulk_events();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
