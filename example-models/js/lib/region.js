// Predictions and their regions (Label Studio's result items), with builders for the common
// control types. Field names are Label Studio's JSON names (`from_name`, `to_name`, `type`...),
// so a region serializes as-is.

/** Label Studio's result item: `{from_name, to_name, type, value, score?, ...}`. */
export class Region {
  /**
   * A region with a raw value, for control types without a builder.
   * @param {string} fromName the control's name.
   * @param {string} toName the object's name.
   * @param {string} type the control tag, lower-cased (`choices`, `labels`...).
   * @param {object} value the type-specific value.
   */
  constructor(fromName, toName, type, value) {
    this.from_name = fromName;
    this.to_name = toName;
    this.type = type;
    this.value = value;
  }

  /** A region holding every field of `item` (a result item parsed from JSON). */
  static from(item) {
    return Object.assign(Object.create(Region.prototype), item);
  }

  /** Sets the region's confidence and returns the region. */
  withScore(score) {
    this.score = score;
    return this;
  }

  /**
   * The text span of a `labels` region (or any value with `start`/`end`) as
   * `{start, end, text, labels}`, offsets in UTF-16 units; `null` when `value` is not one:
   * `start`/`end` must be non-negative integers, `text` a string when present, `labels` a list
   * of strings when present.
   */
  span() {
    const { start, end, text, labels = [] } = this.value ?? {};
    const isOffset = (n) => Number.isSafeInteger(n) && n >= 0;
    const textOk = text === undefined || text === null || typeof text === 'string';
    const labelsOk = Array.isArray(labels) && labels.every((l) => typeof l === 'string');
    if (!isOffset(start) || !isOffset(end) || !textOk || !labelsOk) {
      return null;
    }
    return { start, end, text: text ?? undefined, labels };
  }

  /** The strings in `value[key]` (e.g. `labels`, `choices`); other items are skipped. */
  valueStrings(key) {
    const items = this.value?.[key];
    return Array.isArray(items) ? items.filter((item) => typeof item === 'string') : [];
  }

  /** The selected choices of a `choices` region. */
  choiceValues() {
    return this.valueStrings('choices');
  }
}

/** A `Choices` region: `{"choices": [...]}`. */
export function choicesRegion(fromName, toName, choices) {
  return new Region(fromName, toName, 'choices', { choices });
}

/** A `Labels` text span; `start`/`end` in UTF-16 units (JavaScript string indices). */
export function labelsSpan(fromName, toName, start, end, text, labels) {
  return new Region(fromName, toName, 'labels', { start, end, text, labels });
}

/** A `RectangleLabels` box; `x`, `y`, `width`, `height` in percent of the image size. */
export function rectangleRegion(fromName, toName, { x, y, width, height }, labels) {
  const value = { x, y, width, height, rotation: 0, rectanglelabels: labels };
  return new Region(fromName, toName, 'rectanglelabels', value);
}

/** A `TextArea` region: `{"text": [...]}`. */
export function textareaRegion(fromName, toName, texts) {
  return new Region(fromName, toName, 'textarea', { text: texts });
}

/** A `Taxonomy` region: each path from the root, e.g. `[["Animal", "Cat"]]`. */
export function taxonomyRegion(fromName, toName, paths) {
  return new Region(fromName, toName, 'taxonomy', { taxonomy: paths });
}

/** A `Rating` region: `{"rating": n}`. */
export function ratingRegion(fromName, toName, rating) {
  return new Region(fromName, toName, 'rating', { rating });
}

/** One prediction for one task: `{"result": [...], "score"?: n}`. The host stamps the model version. */
export class Prediction {
  /** A prediction with these regions; an empty list means "nothing to suggest". */
  constructor(result = []) {
    this.result = result;
  }

  /** A prediction with no regions. */
  static empty() {
    return new Prediction([]);
  }

  /** Sets the overall confidence and returns the prediction. */
  withScore(score) {
    this.score = score;
    return this;
  }
}
