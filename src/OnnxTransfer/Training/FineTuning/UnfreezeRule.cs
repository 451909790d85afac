using System.Globalization;

namespace OnnxTransfer.Training.FineTuning;

/// <summary>
/// The rule of thumb behind <c>fit --unfreeze auto</c>: how many backbone layers to fine-tune for the number of
/// examples of the smallest class. Few examples overfit unfrozen weights, so below 50 per class only the head
/// trains; below 500 the last block does; beyond that the last two. Blocks are found in the backbone
/// (<see cref="TrainableLayers.BlockBoundaries"/>: layers after the last residual joins, so ResNet-50's last block is
/// its 3 convs + 3 BatchNormalizations); without residual blocks the counts fall back to MobileNetV2's (a block is its
/// expand, depthwise and project convs; the final 1×1 conv before the features counts as one more layer).
/// </summary>
public static class UnfreezeRule
{
    /// <summary>Layers in MobileNetV2's last inverted-residual block plus its final 1×1 conv.</summary>
    public const int LastBlock = 4;

    /// <summary>The last two inverted-residual blocks plus the final 1×1 conv.</summary>
    public const int LastTwoBlocks = 7;

    /// <summary>Below this many examples in the smallest class, only the head trains.</summary>
    public const int HeadOnlyBelow = 50;

    /// <summary>Below this many (and at least <see cref="HeadOnlyBelow"/>), the last block is unfrozen; from here on, the last two.</summary>
    public const int LastBlockBelow = 500;

    /// <summary>Layers to unfreeze (0 = head only) and a one-line reason naming the count, with MobileNetV2's block sizes.</summary>
    public static (int Layers, string Reason) Choose(int smallestClassExamples) => Choose(smallestClassExamples, [LastBlock, LastTwoBlocks]);

    /// <summary>
    /// Layers to unfreeze (0 = head only) and a one-line reason naming the count, for a backbone whose last blocks end
    /// <paramref name="blockBoundaries"/> layers before the features (<see cref="TrainableLayers.BlockBoundaries"/>; fewer
    /// than two found = MobileNetV2's <see cref="LastBlock"/> and <see cref="LastTwoBlocks"/>).
    /// </summary>
    public static (int Layers, string Reason) Choose(int smallestClassExamples, IReadOnlyList<int> blockBoundaries)
    {
        var (one, two) = blockBoundaries.Count >= 2 ? (blockBoundaries[0], blockBoundaries[1]) : (LastBlock, LastTwoBlocks);
        var n = smallestClassExamples.ToString(CultureInfo.InvariantCulture);
        return smallestClassExamples < HeadOnlyBelow
            ? (0, $"{n} examples in the smallest class (< {HeadOnlyBelow}): head only, unfrozen layers would overfit")
            : smallestClassExamples < LastBlockBelow
                ? (one, $"{n} examples in the smallest class (< {LastBlockBelow}): the last block ({one} layers)")
                : (two, $"{n} examples in the smallest class (≥ {LastBlockBelow}): the last two blocks ({two} layers)");
    }
}
