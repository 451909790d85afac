// ML.NET image-pipeline peer for OnnxTransfer's feature extraction benchmark (see bench/README.md).
// LoadImages -> ResizeImages(224x224) -> ExtractPixels -> ApplyOnnxModel over every image under a folder;
// prints one JSON line with images/s. Its own process because ML.NET ImageAnalytics pins SkiaSharp 2.88.
using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: MlNetImagePeer <model.onnx> <image-folder> [--input input] [--output output] [--size 224]");
    return 2;
}
var modelPath = args[0];
var folder = args[1];
string Opt(string name, string fallback) { var i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback; }
var inputName = Opt("--input", "input");
var outputName = Opt("--output", "output");
var size = int.Parse(Opt("--size", "224"));
// --stop-after load|resize|pixels ends the pipeline after that stage, to split the total by stage
// (--no-model = --stop-after pixels).
var stopAfter = args.Contains("--no-model") ? "pixels" : Opt("--stop-after", "model");
if (stopAfter is not ("load" or "resize" or "pixels" or "model"))
{
    Console.Error.WriteLine($"--stop-after {stopAfter}: use load, resize or pixels.");
    return 2;
}
var noModel = stopAfter != "model";

string[] extensions = [".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"];
var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
    .Where(f => extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
    .Order(StringComparer.Ordinal).ToArray();

// ImageNet normalisation is per channel ((x/255 - mean_c) / std_c); ExtractPixels has ONE offset and ONE
// scale for all channels, value = (pixel - offset) * scale. Closest: the channel means/stds averaged.
double[] mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
var offset = (float)(255 * mean.Average());
var scale = (float)(1 / (255 * std.Average()));

var ml = new MLContext(seed: 0);
var data = ml.Data.LoadFromEnumerable(files.Select(f => new ImageRow { Path = f }));
var load = ml.Transforms.LoadImages("image", imageFolder: "", inputColumnName: nameof(ImageRow.Path));
// IsoCrop: scale so the shorter side is `size`, then crop the centre (no 256-then-224 margin).
var resize = load.Append(ml.Transforms.ResizeImages("resized", size, size, "image", ImageResizingEstimator.ResizingKind.IsoCrop, ImageResizingEstimator.Anchor.Center));
var preprocessing = resize.Append(ml.Transforms.ExtractPixels(inputName, "resized", ImagePixelExtractingEstimator.ColorBits.Rgb,
        ImagePixelExtractingEstimator.ColorsOrder.ARGB, interleavePixelColors: false, offsetImage: offset, scaleImage: scale));
IEstimator<ITransformer> pipeline = stopAfter switch
{
    "load" => load,
    "resize" => resize,
    "pixels" => preprocessing,
    _ => preprocessing.Append(ml.Transforms.ApplyOnnxModel(outputColumnNames: [outputName], inputColumnNames: [inputName], modelFile: modelPath)),
};
var column = stopAfter switch { "load" => "image", "resize" => "resized", "pixels" => inputName, _ => outputName };
var imageColumn = stopAfter is "load" or "resize";

var clock = Stopwatch.StartNew();
var model = pipeline.Fit(data);
var fitSeconds = clock.Elapsed.TotalSeconds;

// The pipeline is lazy: the work happens while the cursor walks the rows.
var transformed = model.Transform(data);
var rows = 0;
var failed = new List<string>();
var top1 = new Dictionary<int, int>();
double firstRowSeconds = 0;
// Process CPU time (all threads) beside wall time: on a shared machine it does not depend on other load.
static double CpuSeconds() { using var self = Process.GetCurrentProcess(); return self.TotalProcessorTime.TotalSeconds; }
double firstRowCpu = 0;
var cpuStart = CpuSeconds();
clock.Restart();
using (var cursor = transformed.GetRowCursor(transformed.Schema.Where(c => c.Name == column)))
{
    var getter = imageColumn ? null : cursor.GetGetter<VBuffer<float>>(transformed.Schema[column]);
    var imageGetter = imageColumn ? cursor.GetGetter<MLImage>(transformed.Schema[column]) : null;
    var buffer = default(VBuffer<float>);
    while (true)
    {
        try
        {
            if (!cursor.MoveNext()) break;
            if (imageGetter is not null)
            {
                MLImage? image = null;
                imageGetter(ref image);
                image?.Dispose();
            }
            else getter!(ref buffer);
        }
        catch (Exception e)
        {
            // A row that fails aborts the cursor in ML.NET; record it and stop.
            failed.Add($"{files[Math.Min(rows, files.Length - 1)]}: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
            break;
        }
        if (!noModel)
        {
            var values = buffer.DenseValues().ToArray();
            var arg = Array.IndexOf(values, values.Max());
            top1[arg] = top1.GetValueOrDefault(arg) + 1;
        }
        if (rows++ == 0) { firstRowSeconds = clock.Elapsed.TotalSeconds; firstRowCpu = CpuSeconds() - cpuStart; }
    }
}
var seconds = clock.Elapsed.TotalSeconds;
var cpuSeconds = CpuSeconds() - cpuStart;
Console.WriteLine(JsonSerializer.Serialize(new
{
    peer = "mlnet-image",
    model = noModel ? $"(none: --stop-after {stopAfter})" : Path.GetFileName(modelPath),
    files = files.Length,
    images = rows,
    failed,
    fit_seconds = Math.Round(fitSeconds, 3),
    seconds = Math.Round(seconds, 3),
    first_image_seconds = Math.Round(firstRowSeconds, 3),
    cpu_seconds = Math.Round(cpuSeconds, 3),
    first_image_cpu_seconds = Math.Round(firstRowCpu, 3),
    images_per_second = Math.Round(rows / seconds, 2),
    images_per_second_after_first = rows > 1 ? Math.Round((rows - 1) / (seconds - firstRowSeconds), 2) : 0,
    normalisation = new { offset, scale, note = "single offset/scale for all channels (channel-averaged ImageNet mean/std)" },
    peak_working_set_bytes = Process.GetCurrentProcess().PeakWorkingSet64,
    most_common_top1 = top1.OrderByDescending(kv => kv.Value).Take(3).Select(kv => new { index = kv.Key, count = kv.Value }),
}));
return failed.Count == 0 ? 0 : 1;

sealed class ImageRow
{
    public string Path { get; set; } = "";
}
