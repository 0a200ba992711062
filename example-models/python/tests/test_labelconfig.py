"""The label config helpers: labels with their attributes, and the class-to-label map."""

import unittest

from wasml import LabelConfig

from .fake_host import control, request


def choices(labels):
    """The helpers' view of one Choices control on an Image with these labels."""
    wit = request(control("rotation", "Choices", [("page", "Image", "image")], labels))
    return LabelConfig.from_wit(wit.label_config).controls[0]


class LabelMaps(unittest.TestCase):
    def test_labels_keep_their_attributes(self):
        rotation = choices([("Upright", {"value": "Upright", "hint": "h"})])
        self.assertEqual(rotation.labels, ["Upright"])
        self.assertEqual(rotation.label_items[0].attribute("hint"), "h")
        self.assertIsNone(rotation.label_items[0].attribute("missing"))
        self.assertEqual(rotation.first_input("Image").value, "image")
        self.assertIsNone(rotation.first_input("Text"))

    def test_classes_map_by_predicted_values_then_by_value(self):
        labels = choices([
            ("Heading", {"predicted_values": "title, header"}),
            ("text", {}),
            ("Figure caption", {}),
            ("Table", {"predicted_values": "table"}),
        ]).label_map()
        self.assertEqual(labels.label("title"), "Heading")
        self.assertEqual(labels.label("header"), "Heading")
        self.assertEqual(labels.label("text"), "text")
        self.assertEqual(labels.label("figure_caption"), "Figure caption")
        self.assertEqual(labels.label("table"), "Table")
        self.assertIsNone(labels.label("equation"))

    def test_predicted_values_win_over_a_label_of_the_same_name(self):
        labels = choices([("text", {}), ("Body", {"predicted_values": "text"})]).label_map()
        self.assertEqual(labels.label("text"), "Body")
        self.assertFalse(choices([]).label_map())


if __name__ == "__main__":
    unittest.main()
