using System.Text.Json;
using System.Text.Json.Serialization;

namespace OnnxTransfer.Training.Heads;

/// <summary>Final numbers of a run, stored in head.json.</summary>
public sealed record HeadMetrics
{
    /// <summary>Epochs actually run.</summary>
    public int EpochsRun { get; init; }
    /// <summary>Epoch whose parameters the head holds.</summary>
    public int BestEpoch { get; init; }
    /// <summary>True when early stopping ended the run.</summary>
    public bool StoppedEarly { get; init; }
    /// <summary>Training loss of the kept epoch.</summary>
    public double TrainLoss { get; init; }
    /// <summary>Training accuracy of the kept epoch.</summary>
    public double TrainAccuracy { get; init; }
    /// <summary>Validation loss of the kept epoch, if any.</summary>
    public double? ValLoss { get; init; }
    /// <summary>Validation accuracy of the kept epoch, if any.</summary>
    public double? ValAccuracy { get; init; }
    /// <summary>Training rows used.</summary>
    public int TrainRows { get; init; }
    /// <summary>Validation rows used.</summary>
    public int ValRows { get; init; }
    /// <summary>L2 strength (per the mean loss, on standardised features) the L-BFGS solver chose on the validation rows; null for mini-batch training.</summary>
    public double? L2 { get; init; }
    /// <summary>L-BFGS iterations over the whole regularisation path and refit; null for mini-batch training.</summary>
    public long? SolverIterations { get; init; }
    /// <summary>Rows of the final refit with the chosen L2 (training + validation rows), or 0 when the head was not refitted.</summary>
    public int RefitRows { get; init; }
}

/// <summary>
/// head.json: what a trained head is (spec, task, classes, feature dimension, feature source), how it
/// was trained and how well it did. Written beside train.onnx, eval.onnx, optimizer.onnx and checkpoint.bin.
/// </summary>
public sealed record HeadInfo
{
    /// <summary>File name inside a head directory.</summary>
    public const string FileName = "head.json";

    /// <summary>Format version of this file.</summary>
    public int Format { get; init; } = 1;
    /// <summary>Head architecture text (<see cref="HeadSpec"/>).</summary>
    public string Spec { get; init; } = "linear";
    /// <summary>Task.</summary>
    public HeadTask Task { get; init; }
    /// <summary>Class / label names in output order.</summary>
    public string[] Classes { get; init; } = [];
    /// <summary>Length of the feature vectors the head reads.</summary>
    public int FeatureDimension { get; init; }
    /// <summary>Where the features came from (backbone, layer, preprocessing), free text.</summary>
    public string FeatureSource { get; init; } = "";
    /// <summary>Outcome of training.</summary>
    public HeadMetrics Metrics { get; init; } = new();
    /// <summary>Options the head was trained with.</summary>
    public TrainingOptions Training { get; init; } = new();
    /// <summary>Tool version that wrote the file.</summary>
    public string ToolVersion { get; init; } = ToolInfo.Version;

    /// <summary>The parsed <see cref="Spec"/>.</summary>
    [JsonIgnore] public HeadSpec HeadSpec => HeadSpec.Parse(Spec);

    /// <summary>Metadata key prefix used on head models (e.g. "onnxtransfer.head.spec").</summary>
    public const string MetadataPrefix = "onnxtransfer.head.";

    /// <summary>Records spec, task, classes (JSON array), feature dimension and source in <paramref name="model"/>'s metadata_props.</summary>
    public void WriteMetadata(Onnx.OnnxModel model)
    {
        model.SetMetadata(MetadataPrefix + "spec", Spec);
        model.SetMetadata(MetadataPrefix + "task", Task.ToString());
        model.SetMetadata(MetadataPrefix + "classes", JsonText.Write(Classes, HeadsJson.Default.StringArray, indented: false));
        model.SetMetadata(MetadataPrefix + "feature_dimension", FeatureDimension.ToString(System.Globalization.CultureInfo.InvariantCulture));
        model.SetMetadata(MetadataPrefix + "feature_source", FeatureSource);
    }

    /// <summary>Writes head.json into <paramref name="headDir"/> atomically.</summary>
    public void Save(string headDir) => AtomicFile.WriteText(Path.Combine(headDir, FileName), JsonText.Write(this, HeadsJson.Default.HeadInfo));

    /// <summary>Reads head.json from <paramref name="headDir"/>.</summary>
    public static HeadInfo Load(string headDir)
    {
        var path = Path.Combine(headDir, FileName);
        if (!File.Exists(path))
            throw new OnnxTransferException($"{path}: not found; '{headDir}' is not a trained head directory.");
        try
        {
            var info = JsonText.Read(File.ReadAllText(path), HeadsJson.Default.HeadInfo)
                ?? throw new OnnxTransferException($"{path}: empty head description; retrain the head.");
            if (info.Classes is not { Length: > 0 } || info.FeatureDimension <= 0)
                throw new OnnxTransferException($"{path}: classes or feature_dimension missing; retrain the head.");
            _ = info.HeadSpec;
            return info;
        }
        catch (JsonException e)
        {
            throw new OnnxTransferException($"{path}: invalid JSON ({e.Message.Split('\n')[0]}); fix or retrain the head.", e);
        }
    }
}
