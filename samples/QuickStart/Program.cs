// OnnxTransfer quick start: train a classifier on a folder of images, then use the one-file model.
//   dotnet run --project samples/QuickStart -- DATA_DIR [MODEL.onnx] [PER_CLASS]
// DATA_DIR holds one folder per class (or train/ and val/ folders of class folders).
using OnnxTransfer;
using OnnxTransfer.Inference;

var data = args.Length > 0 ? args[0] : Path.Combine("..", "shared", "datasets", "hymenoptera");
var modelPath = args.Length > 1 ? args[1] : Path.Combine(Path.GetTempPath(), "quickstart.onnx");
int? perClass = args.Length > 2 ? int.Parse(args[2]) : null;

// 1. Train: pull the backbone (cache, ONNXTRANSFER_MIRROR or download), extract features, fit a head, export.
using (var learner = await Learner.CreateAsync("mobilenetv2-12-int8", new LearnerOptions { PerClass = perClass }))
{
    var result = await learner.FitAsync(data, modelPath);
    Console.WriteLine($"trained on {result.Training.Info.Metrics.TrainRows} images; " +
                      $"held-out accuracy {result.Report?.Accuracy:F3} on {result.Report?.N} images");
}

// 2. Predict: the .onnx file alone is enough (labels and preprocessing are in its metadata).
using var model = TransferModel.Load(modelPath);
var images = Directory.EnumerateFiles(data, "*.jpg", SearchOption.AllDirectories).Order().Take(4);
foreach (var prediction in model.PredictFiles(images))
    Console.WriteLine(prediction.Prediction is { } p
        ? $"{Path.GetFileName(prediction.Path)}: {p.Label} ({p.Score:P1})"
        : $"{Path.GetFileName(prediction.Path)}: error {prediction.Error}");
