using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTransfer.Data;
using OnnxTransfer.Imaging;
using SkiaSharp;

namespace OnnxTransfer.Tests.Imaging;

public class ImageEncoderTests
{
    [Fact]
    public void All_inputs_encode_identically()
    {
        var path = SharedAssets.Photo("dog.jpg");
        var encoder = new ImageEncoder(ImagePreprocessing.ImageNet);
        Assert.Equal([3L, 224, 224], encoder.SampleShape);
        var fromPath = encoder.Encode(path);
        var fromItem = new float[fromPath.Length];
        encoder.Encode(new DatasetItem(path, "dog.jpg", "dog", ""), fromItem);
        var fromBytes = new float[fromPath.Length];
        encoder.Encode(File.ReadAllBytes(path), fromBytes);
        var fromStream = new float[fromPath.Length];
        using (var stream = File.OpenRead(path)) encoder.Encode(stream, fromStream);
        var fromBitmap = new float[fromPath.Length];
        using (var bitmap = SKBitmap.Decode(path)) encoder.Encode(bitmap, fromBitmap);
        Assert.Equal(fromPath, fromItem);
        Assert.Equal(fromPath, fromBytes);
        Assert.Equal(fromPath, fromStream);
        Assert.Equal(fromPath, fromBitmap);
        // Values lie in the normalized range of [0, 255] pixels, and the photo is not flat.
        var p = ImagePreprocessing.ImageNet;
        for (var c = 0; c < 3; c++)
        {
            var plane = fromPath.AsSpan(c * 224 * 224, 224 * 224).ToArray();
            Assert.True(plane.Min() >= -p.Mean[c] / p.Std[c] - 1e-4 && plane.Max() <= (1 - p.Mean[c]) / p.Std[c] + 1e-4);
            Assert.True(plane.Max() - plane.Min() > 1);
        }
    }

    [Fact]
    public void Parallel_encoding_matches_sequential()
    {
        var dataset = DatasetLoader.Load(SharedAssets.Dataset("hymenoptera")).TakePerClass(6, seed: 1);
        var encoder = new ImageEncoder(ImagePreprocessing.ImageNet with { Layout = TensorLayout.Nhwc });
        Assert.Equal([224L, 224, 3], encoder.SampleShape);
        var sequential = dataset.Items.Select(i => encoder.Encode(i.Path)).ToArray();
        var parallel = new float[dataset.Items.Count][];
        Parallel.For(0, dataset.Items.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            parallel[i] = new float[3 * 224 * 224];
            encoder.Encode(dataset.Items[i], parallel[i]);
        });
        for (var i = 0; i < sequential.Length; i++)
            Assert.Equal(sequential[i], parallel[i]);
    }

    [Fact]
    public void Shared_photos_get_their_documented_mobilenet_classes()
    {
        // The shared README's end-to-end check of the ImageNet preprocessing: top-1 class of each photo.
        var classes = File.ReadAllLines(SharedAssets.ImageNetClasses);
        var encoder = new ImageEncoder(ImagePreprocessing.ImageNet);
        string[] photos = ["dog.jpg", "cat.jpg", "chinese_cat.jpg", "imagenet_finch.jpeg"];
        var input = new DenseTensor<float>([photos.Length, 3, 224, 224]);
        for (var i = 0; i < photos.Length; i++)
            encoder.Encode(SharedAssets.Photo(photos[i]), input.Buffer.Span.Slice(i * 3 * 224 * 224, 3 * 224 * 224));
        // The dequantized float twin: the int8 model's class for chinese_cat.jpg depends on the CPU's int8 kernels
        // ("window screen" where ORT's AVX2 u8s8 path saturates), which is not what this test is about.
        var model = OnnxTransfer.Onnx.Dequantizer.Dequantize(OnnxTransfer.Onnx.OnnxModel.Load(SharedAssets.MobileNetV2Int8)).Model;
        using var session = new InferenceSession(model.ToBytes());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
        var logits = results[0].AsTensor<float>();
        var top = Enumerable.Range(0, photos.Length)
            .Select(i => classes[Enumerable.Range(0, 1000).MaxBy(k => logits[i, k])])
            .ToArray();
        Assert.Equal(["Shih-Tzu", "Persian cat", "lynx", "house finch"], top);
    }

    [Fact]
    public void Hymenoptera_gif_placeholder_encodes()
    {
        var gif = Path.Combine(SharedAssets.Dataset("hymenoptera"), "train", "ants", "imageNotFound.gif");
        var values = new ImageEncoder(ImagePreprocessing.ImageNet).Encode(SharedAssets.Require(gif));
        Assert.All(values, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Wrong_destination_length_is_rejected()
    {
        var encoder = new ImageEncoder(ImagePreprocessing.ImageNet);
        Assert.Throws<ArgumentException>(() => encoder.Encode(SharedAssets.Photo("cat.jpg"), new float[10]));
    }
}
