"""Writes half_plus_two, the demo model the jetserve CLI embeds (models/half_plus_two/1/).

Modelled on TF Serving's classic test model: y = 0.5 * x + 2, with variables a=0.5, b=2, c=3.

Signatures (method names as TF Serving's testdata model has them):
  serving_default    tensorflow/serving/predict   x float32 [-1]           -> y float32 [-1]
  classify_x_to_y    tensorflow/serving/classify  inputs string [-1]       -> scores float32 [-1,1]
  regress_x_to_y     tensorflow/serving/regress   inputs string [-1]       -> outputs float32 [-1,1]
  regress_x_to_y2    tensorflow/serving/regress   inputs string [-1]       -> outputs float32 [-1,1] (0.5x+3)
  regress_x2_to_y3   tensorflow/serving/regress   inputs string [-1]       -> outputs float32 [-1,1] (0.5x2+3)
`inputs` are serialized tf.Example protos with float feature `x` (required, 1 value) and `x2`
(optional, default 0.0), parsed in-graph with tf.io.parse_example.

Shape choice: TF Serving's TF1 model declares x as [-1,1] but feeds a non-placeholder tensor, so it
accepts any shape (test/fixtures/tfserving_models.py recreates it). This one declares x [-1], the
shape of TF Serving's headline REST example {"instances": [1.0, 2.0, 5.0]} ->
{"predictions": [2.5, 3.0, 4.5]}, so the example also passes --validate_input_shapes and the
in-process API's shape check.

Usage: python scripts/make_demo_model.py [EXPORT_DIR]   (default: <repo>/models/half_plus_two/1)
"""

import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

PREDICT = "tensorflow/serving/predict"
CLASSIFY = "tensorflow/serving/classify"
REGRESS = "tensorflow/serving/regress"

# signature key -> method name (everything tf.saved_model.save writes says "predict")
HALF_PLUS_TWO_METHODS = {
    "serving_default": PREDICT,
    "classify_x_to_y": CLASSIFY,
    "regress_x_to_y": REGRESS,
    "regress_x_to_y2": REGRESS,
    "regress_x2_to_y3": REGRESS,
}


class HalfPlusTwo(tf.Module):
    def __init__(self):
        super().__init__(name="half_plus_two")
        self.a = tf.Variable(0.5, dtype=tf.float32, name="a")
        self.b = tf.Variable(2.0, dtype=tf.float32, name="b")
        self.c = tf.Variable(3.0, dtype=tf.float32, name="c")

    def _parse(self, serialized):
        return tf.io.parse_example(
            serialized,
            {
                "x": tf.io.FixedLenFeature([1], tf.float32),
                "x2": tf.io.FixedLenFeature([1], tf.float32, default_value=[0.0]),
            },
        )

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def predict(self, x):
        return {"y": self.a * x + self.b}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def classify_x_to_y(self, inputs):
        return {"scores": self.a * self._parse(inputs)["x"] + self.b}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def regress_x_to_y(self, inputs):
        return {"outputs": self.a * self._parse(inputs)["x"] + self.b}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def regress_x_to_y2(self, inputs):
        return {"outputs": self.a * self._parse(inputs)["x"] + self.c}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def regress_x2_to_y3(self, inputs):
        return {"outputs": self.a * self._parse(inputs)["x2"] + self.c}


def set_method_names(export_dir, methods):
    """Rewrites SignatureDef.method_name (TF2's save always writes predict), then the fingerprint."""
    updater = tf.compat.v1.saved_model.signature_def_utils.MethodNameUpdater(export_dir)
    for key, method in methods.items():
        updater.replace_method_name(signature_key=key, method_name=method, tags=["serve"])
    updater.save()
    try:  # keep fingerprint.pb consistent with the rewritten saved_model.pb
        from tensorflow.python.saved_model import fingerprinting_utils

        fingerprint = os.path.join(export_dir, "fingerprint.pb")
        if os.path.exists(fingerprint):
            os.remove(fingerprint)
            fingerprinting_utils.write_fingerprint(export_dir)
    except Exception as err:  # private API: a missing fingerprint is harmless to loaders
        print(f"warning: could not rewrite fingerprint.pb: {err}", file=sys.stderr)


def write_half_plus_two(export_dir):
    """Saves half_plus_two as a SavedModel into export_dir (replaced if it exists)."""
    if os.path.exists(export_dir):
        shutil.rmtree(export_dir)
    module = HalfPlusTwo()
    signatures = {
        "serving_default": module.predict,
        "classify_x_to_y": module.classify_x_to_y,
        "regress_x_to_y": module.regress_x_to_y,
        "regress_x_to_y2": module.regress_x_to_y2,
        "regress_x2_to_y3": module.regress_x2_to_y3,
    }
    tf.saved_model.save(module, export_dir, signatures=signatures)
    set_method_names(export_dir, HALF_PLUS_TWO_METHODS)
    return export_dir


def make_example(**features):
    """A serialized tf.Example with float features (name=value or name=[values])."""
    feature = {
        name: tf.train.Feature(float_list=tf.train.FloatList(value=v if isinstance(v, (list, tuple)) else [v]))
        for name, v in features.items()
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    export_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, "models", "half_plus_two", "1")
    write_half_plus_two(export_dir)
    loaded = tf.saved_model.load(export_dir)
    y = loaded.signatures["serving_default"](x=tf.constant([1.0, 2.0, 5.0]))["y"].numpy().tolist()
    assert y == [2.5, 3.0, 4.5], y
    print(f"wrote {export_dir}: predict [1, 2, 5] -> {y}")


if __name__ == "__main__":
    main()
