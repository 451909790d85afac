using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Tests.Training;

/// <summary>Gaussian blobs: class c is centred at a fixed random point (unit-norm direction × <c>separation</c>).</summary>
internal static class SyntheticData
{
    public static TrainingSet Blobs(int rowsPerClass, int classes, int dim, double separation, int seed, double shift = 0, int centreSeed = 1000)
    {
        var centres = Centres(classes, dim, separation, centreSeed);
        var rng = new Random(seed);
        var features = new List<float>();
        var labels = new List<int>();
        for (var r = 0; r < rowsPerClass; r++)
            for (var c = 0; c < classes; c++)
            {
                for (var d = 0; d < dim; d++) features.Add((float)(centres[c][d] + shift + Gaussian(rng)));
                labels.Add(c);
            }
        return TrainingSet.SingleLabel(features.ToArray(), dim, labels.ToArray(), Enumerable.Range(0, classes).Select(c => $"class{c}").ToArray());
    }

    public static double[][] Centres(int classes, int dim, double separation, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, classes).Select(_ =>
        {
            var v = Enumerable.Range(0, dim).Select(_ => Gaussian(rng)).ToArray();
            var norm = Math.Sqrt(v.Sum(x => x * x));
            return v.Select(x => x / norm * separation).ToArray();
        }).ToArray();
    }

    public static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    public static double Accuracy(int[] predicted, int[] truth) => predicted.Zip(truth).Count(p => p.First == p.Second) / (double)truth.Length;
}
