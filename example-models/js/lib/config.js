// The project's label config, parsed by the host into the WIT `label-config` record, with the
// lookups models need. componentize-js hands records over as plain objects with camelCase
// fields (`toName`, `valueList`, `dynamicLabels`...); these classes keep those fields and add
// methods.

/** One label of a control (a `<Label>`, `<Choice>` or `<Relation>`): `value` and `attributes`. */
export class Label {
  constructor({ value, attributes }) {
    /** What annotations hold for this label: its `alias`, else `value`. */
    this.value = value;
    /** Every attribute of the element, in document order, as `{name, value}`. */
    this.attributes = attributes;
  }

  /** The value of attribute `name` (e.g. `background`), or `undefined`. */
  attribute(name) {
    return this.attributes.find((a) => a.name === name)?.value;
  }
}

// Class names compare without case, with `_` and `-` read as spaces, so a class
// `figure_caption` finds a label `Figure caption`.
const normalise = (name) => name.trim().replace(/[_-]/g, ' ').toLowerCase();

/**
 * A control's labels, looked up by a model's class names, as Label Studio's Python SDK maps
 * them (`build_label_map`): `<Choice value="Upside down" predicted_values="180"/>` takes the
 * model's class `180`. Built by `Control.labelMap()`.
 */
export class LabelMap {
  /** `entries`: `[class, label]` pairs, explicit `predicted_values` first, then each label's own value. */
  constructor(entries) {
    this.entries = entries;
  }

  /**
   * The label for class `name`: one that lists it in `predicted_values` (exactly, then
   * normalised), else one whose value is the class name (exactly, then normalised), else
   * `undefined` (the config does not name the class).
   */
  label(name) {
    const exact = this.entries.find(([key]) => key === name);
    const wanted = normalise(name);
    return (exact ?? this.entries.find(([key]) => normalise(key) === wanted))?.[1];
  }

  /** Whether no class maps to a label (the control has no labels). */
  isEmpty() {
    return this.entries.length === 0;
  }
}

/**
 * A control tag (`Choices`, `Labels`, `RectangleLabels`...): `name`, `tag`, `toName` (object
 * names), `inputs` (the objects: `{name, tag, value, valueList, valueType}`), `labels`,
 * `conditional` (`{kind, name}` or `undefined`), `dynamicLabels` and `regex`.
 */
export class Control {
  constructor(record) {
    Object.assign(this, record);
    this.labels = record.labels.map((label) => new Label(label));
  }

  /** The label values, in document order. */
  labelValues() {
    return this.labels.map((label) => label.value);
  }

  /** The first object this control reads from, or `undefined`. */
  input() {
    return this.inputs[0];
  }

  /** The object named `name` among this control's inputs (a result's `to_name`), or `undefined`. */
  inputNamed(name) {
    return this.inputs.find((input) => input.name === name);
  }

  /** The first of this control's objects whose tag is one of `tags` (e.g. `'Image'`), or `undefined`. */
  inputTagged(...tags) {
    return this.inputs.find((input) => tags.includes(input.tag));
  }

  /** Its labels by a model's class names: see `LabelMap`. */
  labelMap() {
    const explicit = [];
    for (const label of this.labels) {
      const values = label.attribute('predicted_values');
      if (values !== undefined) {
        for (const value of values.split(',').map((v) => v.trim())) {
          if (value) {
            explicit.push([value, label.value]);
          }
        }
      }
    }
    return new LabelMap([...explicit, ...this.labels.map((label) => [label.value, label.value])]);
  }
}

/** A project's label config: `raw` XML and every control, in document order. */
export class LabelConfig {
  constructor({ raw, controls }) {
    /** The XML exactly as Label Studio sent it. */
    this.raw = raw;
    /** Every control, in document order. */
    this.controls = controls.map((control) => new Control(control));
  }

  /** The control named `name` (a result's `from_name`), or `undefined`. */
  control(name) {
    return this.controls.find((control) => control.name === name);
  }

  /** The first control whose tag is one of `tags`, e.g. `firstControl('Choices', 'Taxonomy')`. */
  firstControl(...tags) {
    return this.controls.find((control) => tags.includes(control.tag));
  }

  /**
   * The first control with tag `controlTag` reading an object with tag `objectTag`, as
   * `[control, input]` (the `from_name`, `to_name` and data key of its results), or `undefined`.
   */
  firstPair(controlTag, objectTag) {
    for (const control of this.controls) {
      const input = control.tag === controlTag && control.inputs.find((i) => i.tag === objectTag);
      if (input) {
        return [control, input];
      }
    }
    return undefined;
  }
}
