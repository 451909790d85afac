using System.Globalization;
using System.Text;
using OnnxTransfer.Features;

namespace OnnxTransfer.Benchmarks;

/// <summary>
/// The CSV the benchmark peers read (bench/README.md, "Interchange format"): UTF-8, ',' separated, '\n' line ends,
/// no quoting; header <c>label,f0,...,f{D-1}</c>; one row per item with its class name and its features as
/// invariant-culture <c>G9</c> floats (which round-trip float32 exactly).
/// </summary>
public static class InterchangeCsv
{
    /// <summary>Writes <paramref name="table"/>'s labels and features to <paramref name="path"/>.</summary>
    /// <exception cref="OnnxTransferException">A label is empty or holds a comma, quote or line break (the format has no quoting).</exception>
    public static void Write(string path, FeatureTable table)
    {
        var bad = table.Labels.FirstOrDefault(l => l.Length == 0 || l.IndexOfAny([',', '"', '\n', '\r']) >= 0);
        if (bad is not null)
            throw new OnnxTransferException($"{path}: label '{bad}' cannot go into the interchange CSV (empty, or a comma, quote or line break); rename the class.");
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
            var line = new StringBuilder("label");
            for (var j = 0; j < table.Dimension; j++) line.Append(",f").Append(j.ToString(CultureInfo.InvariantCulture));
            writer.Write(line.Append('\n'));
            Span<char> number = stackalloc char[32];
            for (var i = 0; i < table.Count; i++)
            {
                writer.Write(table.Labels[i]);
                foreach (var v in table.Row(i))
                {
                    writer.Write(',');
                    v.TryFormat(number, out var written, "G9", CultureInfo.InvariantCulture);
                    writer.Write(number[..written]);
                }
                writer.Write('\n');
            }
        });
    }

    /// <summary>Reads an interchange CSV back: labels, row-major features and the dimension.</summary>
    /// <exception cref="OnnxTransferException">The header or a row does not follow the format.</exception>
    public static (string[] Labels, float[] Features, int Dimension) Read(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        var header = reader.ReadLine() ?? throw new OnnxTransferException($"{path}: empty file; write it with InterchangeCsv.Write.");
        var columns = header.Split(',');
        var dim = columns.Length - 1;
        if (columns[0] != "label" || Enumerable.Range(0, dim).Any(j => columns[j + 1] != $"f{j}"))
            throw new OnnxTransferException($"{path}: header must be 'label,f0,...,f{{D-1}}'; write it with InterchangeCsv.Write.");
        var labels = new List<string>();
        var features = new List<float>();
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            if (line.Length == 0) continue;
            var cells = line.Split(',');
            if (cells.Length != dim + 1)
                throw new OnnxTransferException($"{path}: row {labels.Count + 1} has {cells.Length - 1} features, the header {dim}.");
            labels.Add(cells[0]);
            for (var j = 1; j < cells.Length; j++)
                features.Add(float.TryParse(cells[j], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
                    : throw new OnnxTransferException($"{path}: row {labels.Count}, column f{j - 1}: '{cells[j]}' is not a number."));
        }
        return (labels.ToArray(), features.ToArray(), dim);
    }
}
