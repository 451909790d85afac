using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Backbones;
using OnnxTransfer.Export;
using OnnxTransfer.Features;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using Xunit.Abstractions;
using OnnxTransfer.Training.Heads;
using ModelMetadata = OnnxTransfer.Export.ModelMetadata;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Export;

[Collection(ExportCollection.Name)]
public class ModelExporterTests(ExportFixture fx, ITestOutputHelper log)
{
    [Fact]
    public void Probabilities_equal_the_backbone_then_the_head_run_separately()
    {
        log.WriteLine($"fixture setup: {fx.SetupSeconds:F1} s");
        var images = fx.TestImages;
        using var head = HeadModel.Load(fx.HeadDir);
        var expected = head.PredictProbabilities(fx.Features(images));

        using var session = new InferenceSession(fx.FloatModelPath);
        using var x = OrtValue.CreateTensorValueFromMemory(fx.Inputs(images), [images.Length, 3, 224, 224]);
        using var run = new RunOptions();
        using var outputs = session.Run(run, ["input"], [x], [ModelExporter.ProbabilitiesOutput, ModelExporter.LabelOutput]);
        var p = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        var label = outputs[1].GetTensorDataAsSpan<long>().ToArray();

        Assert.Equal(expected.Length, p.Length);
        Assert.True(MaxAbsDiff(expected, p) <= 1e-5, $"max |diff| {MaxAbsDiff(expected, p)}");
        Assert.Equal(images.Length, label.Length);
        for (var i = 0; i < images.Length; i++)
            Assert.Equal(p[2 * i + 1] > p[2 * i] ? 1 : 0, label[i]);
        // The head learned something: not every image gets the same label.
        Assert.True(label.Distinct().Count() == 2, $"labels {string.Join(",", label)}");
    }

    [Fact]
    public void The_file_is_self_contained_and_has_exactly_the_documented_outputs()
    {
        var alone = fx.NewFolder("alone");
        var path = Path.Combine(alone, "classifier.onnx");
        File.Copy(fx.FloatModelPath, path);
        Assert.Single(Directory.GetFileSystemEntries(alone));

        using var session = new InferenceSession(path);
        Assert.Equal(["input"], session.InputMetadata.Keys);
        Assert.Equal([ModelExporter.ProbabilitiesOutput, ModelExporter.LabelOutput], session.OutputMetadata.Keys);
        Assert.Equal(typeof(long), session.OutputMetadata[ModelExporter.LabelOutput].ElementType);
        Assert.Equal([-1], session.OutputMetadata[ModelExporter.LabelOutput].Dimensions);
        Assert.Equal([-1, 2], session.OutputMetadata[ModelExporter.ProbabilitiesOutput].Dimensions);
        using var x = OrtValue.CreateTensorValueFromMemory(fx.Inputs(fx.TestImages[..1]), [1, 3, 224, 224]);
        using var run = new RunOptions();
        using var result = session.Run(run, ["input"], [x], [ModelExporter.ProbabilitiesOutput]);
        Assert.Equal(1f, result[0].GetTensorDataAsSpan<float>().ToArray().Sum(), 5);

        var model = OnnxModel.Load(path);
        Assert.All(model.Graph.Initializer, t => Assert.NotEqual(OnnxTransfer.Onnx.Proto.TensorProto.Types.DataLocation.External, t.DataLocation));
        Assert.Equal(17, model.OpsetVersion());
    }

    [Fact]
    public void Metadata_round_trips_with_labels_provenance_and_metrics()
    {
        var meta = ModelMetadata.Read(OnnxModel.Load(fx.FloatModelPath));
        Assert.Equal(["ants", "bees"], meta.Labels);
        Assert.Equal(ModelInputKind.ImageTensor, meta.InputKind);
        Assert.Equal(fx.Preprocessing, ImagePreprocessing.Parse(meta.Preprocessing!));
        Assert.Equal(ExportFixture.BackboneName, meta.Backbone);
        Assert.Equal(FileChecksum.Sha256(SharedAssets.MobileNetV2Int8), meta.BackboneSha256);
        Assert.Equal("472_quantized", meta.FeatureTensor);
        Assert.Equal("linear", meta.Head);
        Assert.Equal("binary", meta.Task);
        Assert.Equal(ToolInfo.Version, meta.ToolVersion);
        using var metrics = JsonDocument.Parse(meta.MetricsJson!);
        var info = HeadInfo.Load(fx.HeadDir);
        Assert.Equal(info.Metrics.TrainRows, metrics.RootElement.GetProperty("train_rows").GetInt32());
        Assert.Equal(info.Metrics.TrainAccuracy, metrics.RootElement.GetProperty("train_accuracy").GetDouble());

        var bytesMeta = ModelMetadata.Read(OnnxModel.Load(fx.BytesModelPath));
        Assert.Equal(ModelInputKind.ImageBytes, bytesMeta.InputKind);
        Assert.Equal(meta.Preprocessing, bytesMeta.Preprocessing);
    }

    [Fact]
    public async Task A_backbone_given_as_a_path_gets_its_sha256_computed_and_the_same_graph()
    {
        var byPath = await ModelExporter.ExportAsync(SharedAssets.MobileNetV2Int8, fx.HeadDir, registry: fx.Registry);
        var meta = ModelMetadata.Read(byPath);
        Assert.Equal("mobilenetv2-12-int8", meta.Backbone); // file name without extension
        Assert.Equal(FileChecksum.Sha256(SharedAssets.MobileNetV2Int8), meta.BackboneSha256);
        Assert.Equal("472_quantized", meta.FeatureTensor); // auto finds the same tensor the manifest names
        var byName = OnnxModel.Load(fx.FloatModelPath);
        Assert.Equal(byName.Graph.Node.Count, byPath.Graph.Node.Count);
    }

    [Fact]
    public void Embedded_preprocessing_model_on_the_uint8_crop_equals_the_float_model_on_the_same_pixels()
    {
        var images = fx.TestImages[..3];
        var n = images.Length;
        const int Sample = 224 * 224 * 3;
        // The crop as bytes, computed here: same resampling, identity normalisation, HWC, rounded.
        var identity = new ImagePreprocessor(fx.Preprocessing with { Scale = 1, Mean = [0, 0, 0], Std = [1, 1, 1], Layout = TensorLayout.Nhwc });
        var bytes = new byte[n * Sample];
        var scratch = new float[Sample];
        for (var i = 0; i < n; i++)
        {
            using var image = new ImageDecoder().Decode(images[i], fx.Preprocessing);
            identity.Process(image, scratch);
            for (var k = 0; k < Sample; k++) bytes[i * Sample + k] = (byte)Math.Clamp(Math.Round(scratch[k]), 0, 255);
        }
        // The float model gets the same byte-rounded pixels, normalised by hand into NCHW.
        var floats = new float[n * Sample];
        float[] mean = fx.Preprocessing.Mean, std = fx.Preprocessing.Std;
        for (var i = 0; i < n; i++)
            for (var y = 0; y < 224; y++)
                for (var x = 0; x < 224; x++)
                    for (var c = 0; c < 3; c++)
                        floats[i * Sample + c * 224 * 224 + y * 224 + x] =
                            (bytes[i * Sample + (y * 224 + x) * 3 + c] * fx.Preprocessing.Scale - mean[c]) / std[c];

        using var floatSession = new InferenceSession(fx.FloatModelPath);
        var expected = ExportFixture.RunFloat(floatSession, "input", floats, [n, 3, 224, 224], ModelExporter.ProbabilitiesOutput);

        using var bytesSession = new InferenceSession(fx.BytesModelPath);
        Assert.Equal([PreprocessingGraph.InputName], bytesSession.InputMetadata.Keys);
        Assert.Equal(typeof(byte), bytesSession.InputMetadata[PreprocessingGraph.InputName].ElementType);
        Assert.Equal([-1, 224, 224, 3], bytesSession.InputMetadata[PreprocessingGraph.InputName].Dimensions);
        using var value = OrtValue.CreateTensorValueFromMemory(bytes, [n, 224, 224, 3]);
        using var run = new RunOptions();
        using var result = bytesSession.Run(run, [PreprocessingGraph.InputName], [value], [ModelExporter.ProbabilitiesOutput]);
        var actual = result[0].GetTensorDataAsSpan<float>().ToArray();
        var diff = MaxAbsDiff(expected, actual);
        log.WriteLine($"uint8 vs float model, same pixels: max |diff| {diff:E2}");
        Assert.True(diff <= 1e-4, $"max |diff| {diff}");
    }

    [Fact]
    public async Task A_head_trained_on_other_features_is_refused_with_both_dimensions()
    {
        var e = await Assert.ThrowsAsync<OnnxTransferException>(() =>
            ModelExporter.ExportAsync(fx.Backbone, fx.HeadDir, new ExportOptions { CutAt = "627_quantized", Pool = FeaturePool.None }));
        Assert.Contains("1280-d", e.Message);
        Assert.Contains("627_quantized", e.Message);
    }

    [Fact]
    public async Task A_speech_backbone_refuses_an_image_head_without_loading_its_files()
    {
        var manifest = fx.Registry.Get("openwakeword");
        var fake = new ResolvedBackbone(manifest, manifest.Files.Select(f => new ResolvedFile(f.Name, "/nonexistent/" + f.Name, "test")).ToArray());
        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => ModelExporter.ExportAsync(fake, fx.HeadDir));
        Assert.Contains("speech", e.Message);
    }

    [Fact]
    public void A_speech_backbone_refuses_image_only_options()
    {
        var manifest = fx.Registry.Get("openwakeword");
        var e = Assert.Throws<OnnxTransferException>(() => ModelExporter.ExportSpeech(manifest, fx.HeadDir, new ExportOptions { EmbedPreprocessing = true }));
        Assert.Contains("--embed-preprocessing", e.Message);
    }

    [Fact]
    public async Task A_speech_backbone_named_to_the_registry_refuses_an_image_head_without_being_pulled()
    {
        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => ModelExporter.ExportAsync("openwakeword", fx.HeadDir, registry: fx.Registry));
        Assert.Contains("speech", e.Message);
        Assert.False(Directory.Exists(fx.Registry.Locations.BackboneDir("openwakeword")));
    }

    [Fact]
    public void A_fixed_batch_backbone_fixes_the_batch_of_the_byte_input_and_outputs()
    {
        var cut = fx.CutModel.Clone();
        var dim = cut.Graph.Input.First(i => i.Name == "input").Type.TensorType.Shape.Dim[0];
        dim.DimValue = 1;
        var meta = ModelMetadata.Read(OnnxModel.Load(fx.FloatModelPath));
        var model = ModelExporter.Compose(cut, OnnxModel.Load(Path.Combine(fx.HeadDir, Trainer.EvalGraphFile)), meta with { InputKind = ModelInputKind.ImageBytes }, fx.Preprocessing);
        using var session = new InferenceSession(model.ToBytes());
        Assert.Equal([1, 224, 224, 3], session.InputMetadata[PreprocessingGraph.InputName].Dimensions);
        Assert.Equal([1, 2], session.OutputMetadata[ModelExporter.ProbabilitiesOutput].Dimensions);
        Assert.Equal([1], session.OutputMetadata[ModelExporter.LabelOutput].Dimensions);
    }

    [Fact]
    public async Task A_head_whose_feature_source_names_another_tensor_is_refused()
    {
        var ok = HeadWithSource("mobilenetv2-12-int8:472_quantized");
        Assert.Equal(2, (await ModelExporter.ExportAsync(fx.Backbone, ok)).Graph.Output.Count);

        var other = HeadWithSource("mobilenetv2-12-int8:627_quantized");
        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => ModelExporter.ExportAsync(fx.Backbone, other));
        Assert.Contains("'627_quantized'", e.Message);
        Assert.Contains("'472_quantized'", e.Message);
        Assert.Contains("--at", e.Message);
    }

    [Fact]
    public async Task A_head_trained_on_another_backbone_file_is_refused_unless_told_to_ignore_it()
    {
        var store = Path.Combine(fx.NewFolder("store"), "features.parquet");
        var table = new FeatureTable(["x.jpg"], ["ants"], ["train"], new float[1280], 1280);
        await FeatureStore.WriteAsync(store, table, new FeatureStoreMetadata("mobilenetv2-7", new string('a', 64), "472_quantized", fx.Preprocessing.ToString(), 1280));
        var head = HeadWithSource(store);
        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => ModelExporter.ExportAsync(fx.Backbone, head));
        Assert.Contains("mobilenetv2-7", e.Message);
        Assert.Contains("--ignore-feature-source", e.Message);
        Assert.NotNull(await ModelExporter.ExportAsync(fx.Backbone, head, new ExportOptions { IgnoreFeatureSource = true }));

        var matching = Path.Combine(fx.NewFolder("store"), "features.parquet");
        await FeatureStore.WriteAsync(matching, table, new FeatureStoreMetadata(ExportFixture.BackboneName, FileChecksum.Sha256(SharedAssets.MobileNetV2Int8), "472_quantized", fx.Preprocessing.ToString(), 1280));
        Assert.NotNull(await ModelExporter.ExportAsync(fx.Backbone, HeadWithSource(matching)));
    }

    private string HeadWithSource(string source)
    {
        var dir = fx.NewFolder("head-copy");
        File.Copy(Path.Combine(fx.HeadDir, Trainer.EvalGraphFile), Path.Combine(dir, Trainer.EvalGraphFile));
        (HeadInfo.Load(fx.HeadDir) with { FeatureSource = source }).Save(dir);
        return dir;
    }

    [Fact]
    public void Label_is_renamed_away_when_the_backbone_already_uses_the_name()
    {
        // A tiny "backbone" whose internal tensor is called "label": the exporter must keep it working.
        var body = OnnxModel.Create("body");
        var g = new GraphBuilder(body.Graph);
        g.Input("x", DataType.Float, [null, 2], ["n"]);
        var w = g.Initializer("w", [1f, 0f, 0f, 1f], 2, 2);
        g.NodeWithOutputs("MatMul", ["x", w], ["label"]);
        g.Alias("label", BackboneCutter.FeaturesOutput);
        g.Output(BackboneCutter.FeaturesOutput, DataType.Float, [null, 2], ["n"]);
        var parameters = HeadGraphBuilder.Parameters(HeadSpec.Linear, HeadTask.MultiClass, 2, 3);
        var head = HeadGraphBuilder.BuildEval(HeadSpec.Linear, HeadTask.MultiClass, 2, 3, new Dictionary<string, float[]>
        {
            [parameters[0].Name] = [1, 0, -1, 0, 1, -1], // weight [2,3]
            [parameters[1].Name] = [0, 0, 0],
        });
        var meta = new ModelMetadata { Labels = ["a", "b", "c"], InputKind = ModelInputKind.Features };
        var model = ModelExporter.Compose(body, head, meta);
        using var session = new InferenceSession(model.ToBytes());
        using var x = OrtValue.CreateTensorValueFromMemory(new float[] { 3, 1, -2, 5 }, [2, 2]);
        using var run = new RunOptions();
        using var r = session.Run(run, ["x"], [x], [ModelExporter.LabelOutput]);
        Assert.Equal([0L, 1L], r[0].GetTensorDataAsSpan<long>().ToArray()); // logits (3,1,-4) and (-2,5,-3)
    }

    private static double MaxAbsDiff(float[] a, float[] b) => a.Zip(b, (u, v) => Math.Abs((double)u - v)).Max();
}
