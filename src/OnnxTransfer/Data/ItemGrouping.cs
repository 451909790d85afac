using System.Text.RegularExpressions;

namespace OnnxTransfer.Data;

/// <summary>
/// Which dataset items belong together (one patient's scans, one speaker's clips): every split keeps a group on one side,
/// so no evaluation or early-stopping item has a sibling among the training items.
/// </summary>
/// <example><c>ItemGrouping.FileNamePattern(@"person(\d+)_")</c> groups <c>person12_bacteria_3.jpeg</c> with <c>person12_virus_7.jpeg</c>.</example>
public sealed class ItemGrouping
{
    private readonly Func<DatasetItem, string> _groupOf;

    private ItemGrouping(string description, Func<DatasetItem, string> groupOf)
    {
        Description = description;
        _groupOf = groupOf;
    }

    /// <summary>What the grouping is, for reports ("file name pattern person(\d+)_").</summary>
    public string Description { get; }

    /// <summary>The group of <paramref name="item"/>.</summary>
    /// <exception cref="OnnxTransferException">The grouping cannot place the item (a file name the pattern does not match).</exception>
    public string GroupOf(DatasetItem item) => _groupOf(item);

    /// <summary>Groups by any function of the item (e.g. a lookup from a metadata file).</summary>
    public static ItemGrouping By(string description, Func<DatasetItem, string> groupOf) => new(description, groupOf);

    /// <summary>
    /// Groups by a regular expression on the file name (no folders): the first capture group, or the whole match when the
    /// pattern has no group. Every file name must match.
    /// </summary>
    /// <exception cref="OnnxTransferException">The pattern is not a valid regular expression.</exception>
    public static ItemGrouping FileNamePattern(string pattern)
    {
        Regex regex;
        try { regex = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)); }
        catch (ArgumentException e)
        {
            throw new OnnxTransferException($"--group-by '{pattern}': not a valid regular expression ({e.Message}); e.g. --group-by 'person(\\d+)_'.");
        }
        return new ItemGrouping($"file name pattern {pattern}", item =>
        {
            var name = Path.GetFileName(item.Id);
            var match = regex.Match(name);
            if (!match.Success)
                throw new OnnxTransferException($"--group-by '{pattern}': the file name of {item.Id} does not match, so its group is unknown; use a pattern that matches every file name, or rename the file.");
            return match.Groups.Count > 1 && match.Groups[1].Success ? match.Groups[1].Value : match.Value;
        });
    }
}
