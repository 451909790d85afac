// ML.NET trainer peer for OnnxTransfer's head-training benchmark (see bench/README.md).
// Reads the CSV interchange (header "label,f0,...,f{D-1}"), trains LbfgsMaximumEntropy and SdcaMaximumEntropy
// on the train table, and prints one JSON line per trainer: wall seconds of Fit and accuracy on the val table.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

if (args.Length >= 1 && args[0] == "--synthetic")
    return Synthetic(args[1..]);
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: MlNetTrainerPeer <train.csv> <val.csv> [--trainers lbfgs,sdca]\n" +
                            "       MlNetTrainerPeer --synthetic <out-dir> [rows=2000] [dim=1280] [classes=2] [seed=0]");
    return 2;
}
var trainPath = args[0];
var valPath = args[1];
var trainersArg = Array.IndexOf(args, "--trainers") is var ti and >= 0 && ti + 1 < args.Length ? args[ti + 1] : "lbfgs,sdca";
var wanted = trainersArg.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

var dim = FeatureCount(trainPath);
if (FeatureCount(valPath) != dim)
{
    Console.Error.WriteLine($"{valPath}: has {FeatureCount(valPath)} feature columns, {trainPath} has {dim}.");
    return 2;
}

var ml = new MLContext(seed: 0);
var loader = ml.Data.CreateTextLoader(new TextLoader.Options
{
    Separators = [','],
    HasHeader = true,
    Columns =
    [
        new TextLoader.Column("Label", DataKind.String, 0),
        new TextLoader.Column("Features", DataKind.Single, 1, dim),
    ],
});
// Parse both files fully before any timing, so the seconds below are training only.
var clock = Stopwatch.StartNew();
var train = ml.Data.Cache(loader.Load(trainPath));
var val = ml.Data.Cache(loader.Load(valPath));
var trainRows = CountRows(train);
var valRows = CountRows(val);
var loadSeconds = clock.Elapsed.TotalSeconds;

foreach (var name in wanted)
{
    var keyed = ml.Transforms.Conversion.MapValueToKey("Label");
    IEstimator<ITransformer> pipeline = name.ToLowerInvariant() switch
    {
        "lbfgs" => keyed.Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy("Label", "Features")),
        "sdca" => keyed.Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "Features")),
        _ => throw new ArgumentException($"unknown trainer '{name}' (use lbfgs, sdca)"),
    };
    clock.Restart();
    var model = pipeline.Fit(train);
    var seconds = clock.Elapsed.TotalSeconds;
    var metrics = ml.MulticlassClassification.Evaluate(model.Transform(val), "Label");
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        peer = "mlnet",
        trainer = name.ToLowerInvariant() == "lbfgs" ? "LbfgsMaximumEntropy" : "SdcaMaximumEntropy",
        train_rows = trainRows,
        val_rows = valRows,
        dim,
        load_seconds = Math.Round(loadSeconds, 3),
        seconds = Math.Round(seconds, 3),
        val_accuracy = metrics.MicroAccuracy,
        val_macro_accuracy = metrics.MacroAccuracy,
        val_log_loss = metrics.LogLoss,
    }));
}
return 0;

static int FeatureCount(string csv)
{
    using var reader = new StreamReader(csv);
    var header = reader.ReadLine() ?? throw new InvalidDataException($"{csv}: empty file");
    var columns = header.Split(',');
    if (columns[0] != "label" || columns.Length < 2)
        throw new InvalidDataException($"{csv}: header must be label,f0,...,f(D-1)");
    return columns.Length - 1;
}

static long CountRows(IDataView view)
{
    long rows = 0;
    using var cursor = view.GetRowCursor(view.Schema);
    var getter = cursor.GetGetter<VBuffer<float>>(view.Schema["Features"]);
    var buffer = default(VBuffer<float>);
    while (cursor.MoveNext()) { getter(ref buffer); rows++; }
    return rows;
}

// Writes train.csv and val.csv: Gaussian class blobs (unit variance, means drawn at random) so a linear
// model can do well but not perfectly.
static int Synthetic(string[] a)
{
    var dir = a[0];
    int Arg(int i, int fallback) => a.Length > i ? int.Parse(a[i], CultureInfo.InvariantCulture) : fallback;
    int rows = Arg(1, 2000), dim = Arg(2, 1280), classes = Arg(3, 2), seed = Arg(4, 0);
    var random = new Random(seed);
    double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
    var means = Enumerable.Range(0, classes).Select(_ => Enumerable.Range(0, dim).Select(_ => 0.05 * Gaussian()).ToArray()).ToArray();
    Directory.CreateDirectory(dir);
    foreach (var (file, count) in new[] { ("train.csv", rows), ("val.csv", rows / 4) })
    {
        var sb = new StringBuilder("label");
        for (var d = 0; d < dim; d++) sb.Append(",f").Append(d);
        sb.Append('\n');
        for (var r = 0; r < count; r++)
        {
            var y = random.Next(classes);
            sb.Append("class").Append(y);
            for (var d = 0; d < dim; d++) sb.Append(',').Append((means[y][d] + Gaussian()).ToString("G7", CultureInfo.InvariantCulture));
            sb.Append('\n');
        }
        File.WriteAllText(Path.Combine(dir, file), sb.ToString());
    }
    Console.WriteLine(JsonSerializer.Serialize(new { synthetic = dir, rows, dim, classes, seed }));
    return 0;
}
