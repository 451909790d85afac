namespace OnnxTransfer.Benchmarks;

/// <summary>
/// Where our pipeline's CPU time per item goes, per repeat. Decode, preprocess, inference and the Parquet write are
/// each measured alone on one thread (process CPU time); what our pipeline spends beyond their sum is hand-off
/// between threads (channel, batching, copying into the batch) and thread overhead. GC pauses are those during our run.
/// </summary>
/// <param name="DecodeCpuSecondsPerItem">File read + decode (JPEG DCT-scaled where it can be), per repeat.</param>
/// <param name="PreprocessCpuSecondsPerItem">Resize + normalise + tensor layout (decode and preprocess together, less decode alone).</param>
/// <param name="InferenceCpuSecondsPerItem">ORT run at the benchmark's batch size, one intra-op thread.</param>
/// <param name="WriteCpuSecondsPerItem">One Parquet write of all rows (the pipeline writes checkpoint chunks, then merges them).</param>
/// <param name="OursCpuSecondsPerItem">Our whole pipeline, all threads.</param>
/// <param name="GcPauseSecondsPerItem">GC pause time during our run, per item.</param>
/// <param name="Collections">Gen0/gen1/gen2 collections during our first timed run.</param>
public sealed record ExtractionStages(Samples DecodeCpuSecondsPerItem, Samples PreprocessCpuSecondsPerItem, Samples InferenceCpuSecondsPerItem,
    Samples WriteCpuSecondsPerItem, Samples OursCpuSecondsPerItem, Samples GcPauseSecondsPerItem, IReadOnlyList<int> Collections)
{
    /// <summary>Our CPU per item beyond the stages measured alone (medians): hand-off and thread overhead.</summary>
    public double OtherCpuSecondsPerItem => OursCpuSecondsPerItem.Median
        - (DecodeCpuSecondsPerItem.Median + PreprocessCpuSecondsPerItem.Median + InferenceCpuSecondsPerItem.Median + WriteCpuSecondsPerItem.Median);
}

/// <summary>
/// ML.NET's CPU time per image by stage, from runs of its pipeline cut after each stage (first repeat only): LoadImages
/// (decode), + ResizeImages, + ExtractPixels, + ApplyOnnxModel (the full run); each stage is the difference to the one before.
/// </summary>
/// <param name="LoadCpuSecondsPerItem">Decode.</param>
/// <param name="ResizeCpuSecondsPerItem">Resize.</param>
/// <param name="PixelsCpuSecondsPerItem">Pixel extraction (normalise, layout).</param>
/// <param name="ModelCpuSecondsPerItem">ApplyOnnxModel.</param>
public sealed record PeerStages(double LoadCpuSecondsPerItem, double ResizeCpuSecondsPerItem, double PixelsCpuSecondsPerItem, double ModelCpuSecondsPerItem);

/// <summary>Whole-process wall time of our <c>extract</c> command and the ML.NET program on the same images, run alternately.</summary>
/// <param name="OursSeconds">Our <c>onnxtransfer extract</c>, start to exit, per repeat.</param>
/// <param name="PeerSeconds">The ML.NET program, start to exit, per repeat.</param>
/// <param name="OursPeakResidentBytes">Our process's peak resident set (median of the repeats), when readable.</param>
/// <param name="PeerPeakResidentBytes">The ML.NET process's peak working set (median), when reported.</param>
public sealed record WholeProcess(Samples OursSeconds, Samples PeerSeconds, long? OursPeakResidentBytes, long? PeerPeakResidentBytes)
{
    /// <summary>Our time ÷ ML.NET's (medians); below 1 is faster.</summary>
    public double TimeRatio => OursSeconds.Median / PeerSeconds.Median;
}
