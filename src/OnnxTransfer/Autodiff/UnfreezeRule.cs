using System.Globalization;

namespace OnnxTransfer.Autodiff;

/// <summary>
/// The rule of thumb behind <c>fit --unfreeze auto</c>: how many backbone layers to fine-tune for the number of
/// examples of the smallest class. Few examples overfit unfrozen weights, so below 50 per class only the head
/// trains; below 500 the last block does; beyond that the last two. Layer counts are MobileNetV2's (a block is
/// its expand, depthwise and project convs; the final 1×1 conv before the features counts as one more layer).
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

    /// <summary>Layers to unfreeze (0 = head only) and a one-line reason naming the count.</summary>
    public static (int Layers, string Reason) Choose(int smallestClassExamples)
    {
        var n = smallestClassExamples.ToString(CultureInfo.InvariantCulture);
        return smallestClassExamples < HeadOnlyBelow
            ? (0, $"{n} examples in the smallest class (< {HeadOnlyBelow}): head only, unfrozen layers would overfit")
            : smallestClassExamples < LastBlockBelow
                ? (LastBlock, $"{n} examples in the smallest class (< {LastBlockBelow}): the last block ({LastBlock} layers)")
                : (LastTwoBlocks, $"{n} examples in the smallest class (≥ {LastBlockBelow}): the last two blocks ({LastTwoBlocks} layers)");
    }
}
