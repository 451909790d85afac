using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Backbones;
using OnnxTransfer.Data;
using OnnxTransfer.Features;
using OnnxTransfer.Onnx;
using OnnxTransfer.Runtime;

namespace OnnxTransfer.Benchmarks;

/// <summary>Settings of an <see cref="ExtractionBenchmark"/>.</summary>
public sealed record ExtractionBenchmarkOptions
{
    /// <summary>Items per inference call (our pipeline, the inference ceiling and the machine limit).</summary>
    public int BatchSize { get; init; } = 4;

    /// <summary>How often every measurement runs; the figures are medians.</summary>
    public int Repeat { get; init; } = 3;

    /// <summary>Decode workers of our pipeline; null: the pipeline's default.</summary>
    public int? DecodeThreads { get; init; }

    /// <summary>The repository's bench folder holding MlNetImagePeer; null: the ML.NET peer is skipped.</summary>
    public string? BenchFolder { get; init; }

    /// <summary>Pre-decoded samples kept in memory for the inference-only runs (more items cycle through them).</summary>
    public int MaxStoredSamples { get; init; } = 512;

    /// <summary>Folder for the feature stores our pipeline writes (overwritten every repeat); null: a new temp folder, deleted afterwards.</summary>
    public string? WorkDirectory { get; init; }

    /// <summary>
    /// The onnxtransfer CLI to run <c>extract</c> with as a child process, alternating with the ML.NET program, for the
    /// whole-process comparison (start-up included); null: not run.
    /// </summary>
    public ProcessCommand? ExtractCommand { get; init; }

    /// <summary>The backbone as the CLI names it (registry name or path), for <see cref="ExtractCommand"/>; null: the model file.</summary>
    public string? BackboneArgument { get; init; }

    /// <summary>Also run ML.NET's pipeline cut after each stage (first repeat) to split its time by stage.</summary>
    public bool PeerStages { get; init; }
}

/// <summary>Items per second of one way of extracting features.</summary>
/// <param name="Name">Short name.</param>
/// <param name="ItemsPerSecond">One figure per repeat.</param>
/// <param name="Items">Items per run.</param>
/// <param name="Detail">How it was measured.</param>
/// <param name="CpuSecondsPerItem">Process CPU time per item (all threads), per repeat: unlike items/s it does not drop when other processes take cores.</param>
public sealed record ThroughputResult(string Name, Samples ItemsPerSecond, int Items, string Detail, Samples CpuSecondsPerItem);

/// <summary>What the ML.NET image peer reported over the repeats.</summary>
/// <param name="ItemsPerSecond">Images/s including the first image (JIT, ORT's first run), per repeat.</param>
/// <param name="ItemsPerSecondAfterFirst">Images/s after the first image, per repeat (the figure compared).</param>
/// <param name="Images">Images the peer processed per run.</param>
/// <param name="PeakWorkingSetBytes">The peer process's peak working set, when it reports one (median).</param>
/// <param name="ProcessSeconds">Wall time of the whole peer process (start-up included), per repeat.</param>
/// <param name="CpuSecondsPerItemAfterFirst">The peer's process CPU time per image after the first, per repeat (when it reports it).</param>
public sealed record PeerThroughput(Samples ItemsPerSecond, Samples ItemsPerSecondAfterFirst, int Images, long? PeakWorkingSetBytes, Samples ProcessSeconds,
    Samples CpuSecondsPerItemAfterFirst);

/// <summary>All figures of one <see cref="ExtractionBenchmark"/> run.</summary>
public sealed record ExtractionBenchmarkResult
{
    /// <summary>Backbone name.</summary>
    public required string Backbone { get; init; }
    /// <summary>Items in the dataset.</summary>
    public required int Items { get; init; }
    /// <summary>Items that could not be decoded (left out of every figure).</summary>
    public required int Failed { get; init; }
    /// <summary>Batch size.</summary>
    public required int BatchSize { get; init; }
    /// <summary>Repeats.</summary>
    public required int Repeat { get; init; }
    /// <summary>Logical processors.</summary>
    public required int Cores { get; init; }
    /// <summary>Decode workers of our pipeline.</summary>
    public required int DecodeThreads { get; init; }
    /// <summary>ORT intra-op threads of our pipeline's session.</summary>
    public required int IntraOpThreads { get; init; }
    /// <summary>(a) our pipeline: FeatureBackbone.ExtractAsync into a Parquet store.</summary>
    public required ThroughputResult Ours { get; init; }
    /// <summary>(b) decode one item, run it alone (batch 1), next.</summary>
    public required ThroughputResult Naive { get; init; }
    /// <summary>(c) inference alone on pre-decoded tensors: the ceiling of inference.</summary>
    public required ThroughputResult InferenceOnly { get; init; }
    /// <summary>(d) ML.NET's image pipeline, or null (see <see cref="PeerError"/>).</summary>
    public PeerThroughput? Peer { get; init; }
    /// <summary>ML.NET's process CPU seconds per image over its whole cursor (first image included), per repeat.</summary>
    public Samples? PeerCpuSecondsPerItem { get; init; }
    /// <summary>Why the peer has no figures (not run, build or run failure), or null.</summary>
    public string? PeerError { get; init; }
    /// <summary>(e) the machine's limit from measured CPU time per item (medians of the repeats).</summary>
    public required MachineLimit Limit { get; init; }
    /// <summary>Decode + preprocess CPU seconds per item, per repeat.</summary>
    public required Samples DecodeCpuSecondsPerItem { get; init; }
    /// <summary>Inference CPU seconds per item (one intra-op thread), per repeat.</summary>
    public required Samples InferenceCpuSecondsPerItem { get; init; }
    /// <summary>
    /// (e′) the machine's limit from CPU time per item measured with every core decoding at once, then every core running
    /// inference at once (medians): what the same work costs when the cores share caches and memory bandwidth.
    /// </summary>
    public required MachineLimit LimitAllCoresBusy { get; init; }
    /// <summary>Decode + preprocess CPU seconds per item with every core decoding, per repeat.</summary>
    public required Samples DecodeCpuSecondsPerItemAllCores { get; init; }
    /// <summary>Inference CPU seconds per item with one one-thread session per core running at once, per repeat.</summary>
    public required Samples InferenceCpuSecondsPerItemAllCores { get; init; }
    /// <summary>Process peak working set right after our pipeline's first run (before anything else allocates).</summary>
    public required long OursPeakWorkingSetBytes { get; init; }

    /// <summary>Our CPU time per item by stage.</summary>
    public required ExtractionStages Stages { get; init; }
    /// <summary>ML.NET's CPU time per image by stage, when <see cref="ExtractionBenchmarkOptions.PeerStages"/> was set and the peer ran.</summary>
    public PeerStages? PeerStages { get; init; }
    /// <summary>Whole-process times of our <c>extract</c> and the ML.NET program, when <see cref="ExtractionBenchmarkOptions.ExtractCommand"/> was given.</summary>
    public WholeProcess? WholeProcess { get; init; }
    /// <summary>Why <see cref="WholeProcess"/> is missing or partial, or null.</summary>
    public string? WholeProcessError { get; init; }

    /// <summary>The 1-minute load average before the benchmark (Linux; null elsewhere): how busy the machine was.</summary>
    public double? LoadAverageBefore { get; init; }
    /// <summary>The 1-minute load average after the benchmark (Linux; null elsewhere).</summary>
    public double? LoadAverageAfter { get; init; }

    /// <summary>
    /// The limit's CPU per item ÷ our CPU per item: the share of our CPU time that is useful work. Unlike
    /// <see cref="OursOverLimit"/> it does not drop when other processes take cores.
    /// </summary>
    public double CpuEfficiency => Limit.CpuSecondsPerItem / Ours.CpuSecondsPerItem.Median;

    /// <summary>Ours ÷ naive (medians).</summary>
    public double OursOverNaive => Ours.ItemsPerSecond.Median / Naive.ItemsPerSecond.Median;
    /// <summary>Ours ÷ ML.NET after its first image (medians), or null.</summary>
    public double? OursOverPeer => Peer is null ? null : Ours.ItemsPerSecond.Median / Peer.ItemsPerSecondAfterFirst.Median;
    /// <summary>Ours ÷ the machine limit.</summary>
    public double OursOverLimit => Ours.ItemsPerSecond.Median / Limit.ItemsPerSecond;
    /// <summary>Ours ÷ the machine limit with all cores busy.</summary>
    public double OursOverLimitAllCoresBusy => Ours.ItemsPerSecond.Median / LimitAllCoresBusy.ItemsPerSecond;
    /// <summary>Ours ÷ inference alone.</summary>
    public double OursOverInference => Ours.ItemsPerSecond.Median / InferenceOnly.ItemsPerSecond.Median;
}

/// <summary>
/// Measures feature extraction in one process, on the same items and model: (a) our pipeline
/// (<see cref="FeatureBackbone.ExtractAsync"/>), (b) a naive decode-one-run-one loop, (c) inference alone on
/// pre-decoded tensors, (d) ML.NET's image pipeline (bench/MlNetImagePeer, a child process) and (e) the machine's
/// limit, cores ÷ (decode CPU + inference CPU per item), from process CPU time of single-threaded runs, and (e′) the same
/// limit from runs that keep every core busy at once.
/// Every repeat runs all of them in turn, so load from other processes spreads over all; figures are medians.
/// </summary>
public static class ExtractionBenchmark
{
    /// <summary>Runs the benchmark with <paramref name="backbone"/> (its session and encoder are ours) over <paramref name="items"/>.</summary>
    /// <param name="backbone">The loaded backbone; its session settings are our pipeline's.</param>
    /// <param name="items">The items (e.g. a dataset's).</param>
    /// <param name="datasetFolder">The folder holding the items (the ML.NET peer reads every image under it).</param>
    /// <param name="options">Settings.</param>
    /// <param name="progress">Progress: one step per measurement run.</param>
    /// <param name="ct">Cancellation.</param>
    public static async Task<ExtractionBenchmarkResult> RunAsync(FeatureBackbone backbone, IReadOnlyList<DatasetItem> items, string datasetFolder,
        ExtractionBenchmarkOptions? options = null, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        options ??= new ExtractionBenchmarkOptions();
        if (items.Count == 0) throw new OnnxTransferException($"{datasetFolder}: no items to benchmark.");
        if (options.BatchSize < 1 || options.Repeat < 1)
            throw new OnnxTransferException($"bench: batch {options.BatchSize} and repeat {options.Repeat} must be at least 1.");
        var batch = options.BatchSize;
        var pipeline = new FeatureExtractionOptions { BatchSize = batch, Overwrite = true };
        if (options.DecodeThreads is { } t) pipeline = pipeline with { Threads = Math.Max(1, t) };
        var work = options.WorkDirectory ?? Path.Combine(Path.GetTempPath(), $"onnxtransfer-bench-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(work);
        var store = Path.Combine(work, "bench-features.parquet");

        // Steps: per repeat ours, decode, all-cores decode, naive, inference, 1-thread inference, all-cores inference, peer; plus building the peer.
        var peerWanted = options.BenchFolder is not null && backbone.Kind == BackboneKind.Image;
        var processWanted = options.ExtractCommand is not null;
        var perRepeat = (peerWanted ? 6 : 5) + 4 + (processWanted ? 1 : 0);
        var totalSteps = perRepeat * options.Repeat + (peerWanted ? 2 : 1) + (peerWanted && options.PeerStages ? 3 : 0);
        var step = 0;
        void Step(string what) => progress?.Report(new ProgressUpdate("bench", step++, totalSteps, "runs", what));

        // The peer is built first (a child process; our memory is untouched), so a failure shows early.
        string? peerAssembly = null, peerError = options.BenchFolder is null ? "not run (no bench folder given)"
            : backbone.Kind != BackboneKind.Image ? "not run (the ML.NET peer reads images only)" : null;
        PeerProgram? peer = null;
        if (peerWanted)
        {
            Step("build MlNetImagePeer");
            try
            {
                peer = PeerProgram.In(options.BenchFolder!, "MlNetImagePeer");
                peerAssembly = await peer.BuildAsync(ct).ConfigureAwait(false);
            }
            catch (PeerException e) { peerError = e.Message; }
        }

        var sampleLength = checked((int)backbone.Encoder.SampleShape.Aggregate(1L, (a, b) => a * b));
        var sampleShape = backbone.Encoder.SampleShape.ToArray();
        var storedCapacity = Math.Max(1, Math.Min(items.Count, options.MaxStoredSamples));
        float[]? stored = null;
        var decodedIndex = new List<int>();
        var modelBytes = backbone.FeatureModel.ToBytes();
        SessionFactory? defaultFactory = null, singleFactory = null;
        InferenceSession? defaultSession = null, singleSession = null;
        InferenceSession[]? coreSessions = null;

        var ours = new List<double>();
        var oursCpu = new List<double>();
        var loadBefore = LoadAverage();
        var naive = new List<double>();
        var naiveCpu = new List<double>();
        var inference = new List<double>();
        var inferenceWallCpu = new List<double>();
        var peerCpu = new List<double>();
        var peerCpuAll = new List<double>();
        var decodeCpu = new List<double>();
        var inferenceCpu = new List<double>();
        var decodeCpuAllCores = new List<double>();
        var inferenceCpuAllCores = new List<double>();
        var peerRate = new List<double>();
        var peerRateAfterFirst = new List<double>();
        var peerSeconds = new List<double>();
        var peerPeaks = new List<double>();
        var peerImages = 0;
        long oursPeak = 0;
        var oursItems = 0;
        var decodeOnlyCpu = new List<double>();
        var writeCpu = new List<double>();
        var gcPause = new List<double>();
        int[] collections = [];
        var processSeconds = new List<double>();
        var processPeaks = new List<double>();
        string? processError = processWanted ? null : "not run";
        PeerStages? peerStages = null;
        var imageEncoder = backbone.Encoder as OnnxTransfer.Imaging.ImageEncoder;
        // Our whole `extract` command in a child process: start-up, model load, decode, inference, Parquet write.
        async Task OursProcessAsync(string of)
        {
            if (options.ExtractCommand is null || processError is not null) return; // not wanted, or it failed before
            Step($"ours process {of}");
            Settle();
            var run = await MeasuredProcess.RunAsync(options.ExtractCommand, ["extract", "--backbone", options.BackboneArgument ?? backbone.Source.ModelPath,
                "--data", datasetFolder, "--out", Path.Combine(work, "process.parquet"), "--overwrite", "--batch", batch.ToString(System.Globalization.CultureInfo.InvariantCulture),
                .. options.DecodeThreads is { } dt ? new[] { "--threads", dt.ToString(System.Globalization.CultureInfo.InvariantCulture) } : [], "--quiet"], ct).ConfigureAwait(false);
            if (run.ExitCode != 0)
            {
                processError = $"extract exited {run.ExitCode}: {run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()}";
                return;
            }
            processSeconds.Add(run.Seconds);
            if (run.PeakResidentBytes is { } p) processPeaks.Add(p);
        }

        try
        {
            // Warm-up (untimed): JIT (until the hot loops reach tier 1) and ORT's first runs stay out of the figures,
            // as they do for the peer's "after the first image" figure. 2 batches left the first repeat ~30 % slow.
            Step("warm-up");
            await backbone.ExtractAsync(items.Take(Math.Min(items.Count, Math.Max(128, 4 * batch))).ToArray(), Path.Combine(work, "warm-up.parquet"), pipeline, null, ct).ConfigureAwait(false);
            for (var r = 0; r < options.Repeat; r++)
            {
                var of = $"{r + 1}/{options.Repeat}";

                // (a) our pipeline, whole job: scan for resume, decode workers, batched inference, Parquet write.
                Step($"ours {of}");
                Settle();
                var pauseStart = GC.GetTotalPauseDuration();
                int[] countsStart = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
                var oursCpuStart = CpuSeconds();
                var clock = Stopwatch.StartNew();
                var summary = await backbone.ExtractAsync(items, store, pipeline, null, ct).ConfigureAwait(false);
                var seconds = clock.Elapsed.TotalSeconds;
                oursItems = summary.Written;
                ours.Add(summary.Written / seconds);
                oursCpu.Add((CpuSeconds() - oursCpuStart) / Math.Max(1, summary.Written));
                gcPause.Add((GC.GetTotalPauseDuration() - pauseStart).TotalSeconds / Math.Max(1, summary.Written));
                if (r == 0)
                {
                    oursPeak = PeakWorkingSet();
                    collections = [GC.CollectionCount(0) - countsStart[0], GC.CollectionCount(1) - countsStart[1], GC.CollectionCount(2) - countsStart[2]];
                }

                // (e, decode) every item decoded on this thread; process CPU time around it. The tensors are kept
                // (up to MaxStoredSamples) for the inference-only runs.
                Step($"decode CPU {of}");
                stored ??= new float[(long)storedCapacity * sampleLength];
                var scratch = new float[sampleLength];
                Settle();
                decodedIndex.Clear();
                var cpu = CpuSeconds();
                for (var i = 0; i < items.Count; i++)
                {
                    ct.ThrowIfCancellationRequested();
                    var slot = decodedIndex.Count;
                    var target = slot < storedCapacity ? stored.AsSpan(slot * sampleLength, sampleLength) : scratch;
                    try { backbone.Encoder.Encode(items[i], target); }
                    catch (OnnxTransferException) { continue; }
                    decodedIndex.Add(i);
                }
                cpu = CpuSeconds() - cpu;
                if (decodedIndex.Count == 0) throw new OnnxTransferException($"{datasetFolder}: none of the {items.Count} items could be decoded.");
                decodeCpu.Add(cpu / decodedIndex.Count);
                var n = decodedIndex.Count;
                var inStore = Math.Min(n, storedCapacity);

                // (e, decode, all cores) the same decodes spread over every core at once: what an item costs when
                // the cores share caches and memory bandwidth, as they do in any pipeline that keeps them all busy.
                Step($"decode CPU, all cores {of}");
                Settle();
                cpu = CpuSeconds();
                DecodeOnAllCores(backbone.Encoder, items, decodedIndex, sampleLength, ct);
                decodeCpuAllCores.Add((CpuSeconds() - cpu) / n);

                // (stages) decode alone, then one Parquet write of n rows, each on this thread.
                Step($"decode-only CPU {of}");
                decodeOnlyCpu.Add(imageEncoder is null ? decodeCpu[^1] : DecodeOnlyCpu(imageEncoder, items, decodedIndex, ct));
                Step($"write CPU {of}");
                writeCpu.Add(await WriteCpuAsync(backbone, items, decodedIndex, Path.Combine(work, "write.parquet"), ct).ConfigureAwait(false) / n);

                defaultFactory ??= SessionFactory.Create(ExecutionDevice.Cpu, SessionSettings.Default);
                defaultSession ??= defaultFactory.CreateSession(modelBytes);
                singleFactory ??= SessionFactory.Create(ExecutionDevice.Cpu, SessionSettings.Default with { IntraOpThreads = 1 });
                singleSession ??= singleFactory.CreateSession(modelBytes);
                coreSessions ??= Enumerable.Range(0, Environment.ProcessorCount).Select(_ => singleFactory.CreateSession(modelBytes)).ToArray();
                if (r == 0)
                {
                    // Warm-up: ORT's first run allocates and plans; keep it out of the figures.
                    RunStored(defaultSession, stored, inStore, Math.Min(n, batch), batch, sampleLength, sampleShape);
                    RunStored(singleSession, stored, inStore, Math.Min(n, batch), batch, sampleLength, sampleShape);
                    foreach (var s in coreSessions) RunStored(s, stored, inStore, Math.Min(n, batch), batch, sampleLength, sampleShape);
                }

                // (b) naive: decode one, run it alone through an ORT-default session, next.
                Step($"naive {of}");
                Settle();
                cpu = CpuSeconds();
                clock.Restart();
                var naiveDone = 0;
                foreach (var i in decodedIndex)
                {
                    ct.ThrowIfCancellationRequested();
                    backbone.Encoder.Encode(items[i], scratch);
                    RunBatch(defaultSession, scratch, 0, 1, sampleLength, sampleShape);
                    naiveDone++;
                }
                naive.Add(naiveDone / clock.Elapsed.TotalSeconds);
                naiveCpu.Add((CpuSeconds() - cpu) / naiveDone);

                // (c) inference alone on pre-decoded tensors, ORT-default session, batches of `batch`.
                Step($"inference {of}");
                Settle();
                cpu = CpuSeconds();
                clock.Restart();
                RunStored(defaultSession, stored, inStore, n, batch, sampleLength, sampleShape);
                inference.Add(n / clock.Elapsed.TotalSeconds);
                inferenceWallCpu.Add((CpuSeconds() - cpu) / n);

                // (e, inference) the same on one intra-op thread; process CPU time.
                Step($"inference CPU {of}");
                Settle();
                cpu = CpuSeconds();
                RunStored(singleSession, stored, inStore, n, batch, sampleLength, sampleShape);
                inferenceCpu.Add((CpuSeconds() - cpu) / n);

                // (e, inference, all cores) one one-thread session per core, all running at once, n items between them.
                Step($"inference CPU, all cores {of}");
                Settle();
                cpu = CpuSeconds();
                var sessions = coreSessions;
                Parallel.For(0, sessions.Length, new ParallelOptions { MaxDegreeOfParallelism = sessions.Length }, c =>
                    RunStored(sessions[c], stored, inStore, n / sessions.Length + (c < n % sessions.Length ? 1 : 0), batch, sampleLength, sampleShape));
                inferenceCpuAllCores.Add((CpuSeconds() - cpu) / n);

                // (d) ML.NET's pipeline in its own process (it pins another SkiaSharp), alternating with our whole
                // `extract` process so that drifting load from other processes falls on both.
                if (r % 2 == 1) await OursProcessAsync(of).ConfigureAwait(false);
                if (peerAssembly is not null && peer is not null)
                {
                    Step($"ML.NET {of}");
                    Settle();
                    try
                    {
                        clock.Restart();
                        var json = await RunPeerAsync(peer, peerAssembly, backbone, datasetFolder, null, ct).ConfigureAwait(false);
                        peerSeconds.Add(clock.Elapsed.TotalSeconds);
                        peerImages = json.GetProperty("images").GetInt32();
                        peerRate.Add(json.GetProperty("images_per_second").GetDouble());
                        peerRateAfterFirst.Add(json.GetProperty("images_per_second_after_first").GetDouble());
                        if (json.TryGetProperty("peak_working_set_bytes", out var peak)) peerPeaks.Add(peak.GetInt64());
                        if (PeerCpuAfterFirst(json) is { } pc) peerCpu.Add(pc);
                        if (PeerCpu(json) is { } all) peerCpuAll.Add(all);
                        if (r == 0 && options.PeerStages)
                        {
                            var cut = new List<double>();
                            foreach (var stage in (string[])["load", "resize", "pixels"])
                            {
                                Step($"ML.NET until {stage}");
                                Settle();
                                cut.Add(PeerCpu(await RunPeerAsync(peer, peerAssembly, backbone, datasetFolder, stage, ct).ConfigureAwait(false)) ?? double.NaN);
                            }
                            peerStages = new PeerStages(cut[0], cut[1] - cut[0], cut[2] - cut[1], (PeerCpu(json) ?? double.NaN) - cut[2]);
                        }
                    }
                    catch (Exception e) when (e is PeerException or KeyNotFoundException or InvalidOperationException or FormatException)
                    {
                        peerError = e.Message;
                        peerAssembly = null;
                    }
                }
                if (r % 2 == 0) await OursProcessAsync(of).ConfigureAwait(false);
            }
        }
        finally
        {
            defaultSession?.Dispose();
            singleSession?.Dispose();
            foreach (var s in coreSessions ?? []) s.Dispose();
            defaultFactory?.Dispose();
            singleFactory?.Dispose();
            if (options.WorkDirectory is null) TryDeleteFolder(work);
        }
        progress?.Report(new ProgressUpdate("bench", totalSteps, totalSteps, "runs"));

        var decoded = decodedIndex.Count;
        var decodeSamples = new Samples(decodeCpu);
        var inferenceSamples = new Samples(inferenceCpu);
        return new ExtractionBenchmarkResult
        {
            Backbone = backbone.Name,
            Items = items.Count,
            Failed = items.Count - decoded,
            BatchSize = batch,
            Repeat = options.Repeat,
            Cores = Environment.ProcessorCount,
            DecodeThreads = pipeline.Threads,
            IntraOpThreads = backbone.ExtractionThreads.IntraOpThreads,
            Ours = new ThroughputResult("ours", new Samples(ours), oursItems,
                $"FeatureBackbone.ExtractAsync → Parquet, batch {batch}, {pipeline.Threads} decode workers, {backbone.ExtractionThreads.IntraOpThreads} intra-op threads × {Math.Max(1, backbone.ExtractionThreads.ConcurrentBatches)} batches at once", new Samples(oursCpu)),
            Naive = new ThroughputResult("naive", new Samples(naive), decoded, "decode one → run batch 1 → next (ORT default threads)", new Samples(naiveCpu)),
            InferenceOnly = new ThroughputResult("inference only", new Samples(inference), decoded,
                $"pre-decoded tensors, batch {batch}, ORT default threads ({SessionSettings.Default.EffectiveIntraOpThreads})", new Samples(inferenceWallCpu)),
            Peer = peerRate.Count > 0
                ? new PeerThroughput(new Samples(peerRate), new Samples(peerRateAfterFirst), peerImages,
                    peerPeaks.Count > 0 ? (long)new Samples(peerPeaks).Median : null, new Samples(peerSeconds), new Samples(peerCpu))
                : null,
            PeerError = peerRate.Count > 0 && peerError is null ? null : peerError ?? "no result",
            Limit = new MachineLimit(Environment.ProcessorCount, decodeSamples.Median, inferenceSamples.Median),
            LimitAllCoresBusy = new MachineLimit(Environment.ProcessorCount, new Samples(decodeCpuAllCores).Median, new Samples(inferenceCpuAllCores).Median),
            DecodeCpuSecondsPerItemAllCores = new Samples(decodeCpuAllCores),
            InferenceCpuSecondsPerItemAllCores = new Samples(inferenceCpuAllCores),
            DecodeCpuSecondsPerItem = decodeSamples,
            InferenceCpuSecondsPerItem = inferenceSamples,
            OursPeakWorkingSetBytes = oursPeak,
            Stages = new ExtractionStages(new Samples(decodeOnlyCpu),
                new Samples(decodeCpu.Zip(decodeOnlyCpu, (all, alone) => Math.Max(0, all - alone)).ToArray()), inferenceSamples,
                new Samples(writeCpu), new Samples(oursCpu), new Samples(gcPause), collections),
            PeerStages = peerStages,
            PeerCpuSecondsPerItem = peerCpuAll.Count > 0 ? new Samples(peerCpuAll) : null,
            WholeProcess = processSeconds.Count > 0 && peerSeconds.Count > 0
                ? new WholeProcess(new Samples(processSeconds), new Samples(peerSeconds),
                    processPeaks.Count > 0 ? (long)new Samples(processPeaks).Median : null, peerPeaks.Count > 0 ? (long)new Samples(peerPeaks).Median : null)
                : null,
            WholeProcessError = processSeconds.Count > 0 && peerSeconds.Count > 0 ? processError : processError ?? "the ML.NET program did not run",
            LoadAverageBefore = loadBefore,
            LoadAverageAfter = LoadAverage(),
        };
    }

    /// <summary>Runs <paramref name="count"/> items in batches over the stored samples (cycling when fewer are stored).</summary>
    private static void RunStored(InferenceSession session, float[] stored, int inStore, int count, int batch, int sampleLength, long[] sampleShape)
    {
        float[]? wrap = null;
        for (var done = 0; done < count; done += batch)
        {
            var n = Math.Min(batch, count - done);
            var start = done % inStore;
            if (start + n <= inStore)
            {
                RunBatch(session, stored, start, n, sampleLength, sampleShape);
                continue;
            }
            wrap ??= new float[(long)batch * sampleLength];
            for (var k = 0; k < n; k++)
                stored.AsSpan(((start + k) % inStore) * sampleLength, sampleLength).CopyTo(wrap.AsSpan(k * sampleLength, sampleLength));
            RunBatch(session, wrap, 0, n, sampleLength, sampleShape);
        }
    }

    private static void RunBatch(InferenceSession session, float[] data, int firstSample, int n, int sampleLength, long[] sampleShape)
    {
        var shape = new long[sampleShape.Length + 1];
        shape[0] = n;
        sampleShape.CopyTo(shape, 1);
        using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
            data.AsMemory(firstSample * sampleLength, n * sampleLength), shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [session.InputNames[0]], [input], [BackboneCutter.FeaturesOutput]);
    }

    /// <summary>Runs the ML.NET program once (cut after <paramref name="stopAfter"/> when given) and returns its JSON line.</summary>
    private static async Task<System.Text.Json.JsonElement> RunPeerAsync(PeerProgram peer, string assembly, FeatureBackbone backbone, string folder,
        string? stopAfter, CancellationToken ct)
    {
        var (input, output) = OriginalNames(backbone.Source.ModelPath);
        string[] stage = stopAfter is null ? [] : ["--stop-after", stopAfter];
        var lines = await peer.RunAsync(assembly, [backbone.Source.ModelPath, folder, "--input", input, "--output", output, .. stage], ct).ConfigureAwait(false);
        var json = lines[0];
        if (json.TryGetProperty("failed", out var failed) && failed.GetArrayLength() > 0)
            throw new PeerException($"MlNetImagePeer stopped at a bad image: {failed[0].GetString()}");
        return json;
    }

    /// <summary>The peer's process CPU seconds per image after its first, or null when it does not report them.</summary>
    private static double? PeerCpuAfterFirst(System.Text.Json.JsonElement json)
    {
        var images = json.GetProperty("images").GetInt32();
        return json.TryGetProperty("cpu_seconds", out var pc) && json.TryGetProperty("first_image_cpu_seconds", out var pf) && images > 1
            ? (pc.GetDouble() - pf.GetDouble()) / (images - 1)
            : null;
    }

    /// <summary>
    /// The peer's process CPU seconds per image over the whole cursor (first image included), or null. Used for the
    /// stage split: on multi-megapixel sets ML.NET's first row carried nearly all the work, so "after the first" meant nothing.
    /// </summary>
    private static double? PeerCpu(System.Text.Json.JsonElement json)
    {
        var images = json.GetProperty("images").GetInt32();
        return json.TryGetProperty("cpu_seconds", out var pc) && images > 0 ? pc.GetDouble() / images : null;
    }

    /// <summary>Encodes the items at <paramref name="indices"/> on every core at once (each worker its own buffer).</summary>
    private static void DecodeOnAllCores(ISampleEncoder encoder, IReadOnlyList<DatasetItem> items, List<int> indices, int sampleLength, CancellationToken ct)
    {
        var cores = Environment.ProcessorCount;
        Parallel.For(0, cores, new ParallelOptions { MaxDegreeOfParallelism = cores, CancellationToken = ct }, c =>
        {
            var scratch = new float[sampleLength];
            for (var k = c; k < indices.Count; k += cores) encoder.Encode(items[indices[k]], scratch);
        });
    }

    /// <summary>CPU seconds per item to read and decode the items (no resize), on this thread.</summary>
    private static double DecodeOnlyCpu(OnnxTransfer.Imaging.ImageEncoder encoder, IReadOnlyList<DatasetItem> items, List<int> indices, CancellationToken ct)
    {
        Settle();
        var cpu = CpuSeconds();
        foreach (var i in indices)
        {
            ct.ThrowIfCancellationRequested();
            using var image = encoder.Decoder.Decode(items[i].Path, encoder.Preprocessor.Preprocessing);
        }
        return (CpuSeconds() - cpu) / indices.Count;
    }

    /// <summary>CPU seconds of one feature-store write of the decoded items' rows (random features of the backbone's dimension).</summary>
    private static async Task<double> WriteCpuAsync(FeatureBackbone backbone, IReadOnlyList<DatasetItem> items, List<int> indices, string path, CancellationToken ct)
    {
        var n = indices.Count;
        var features = new float[(long)n * backbone.Dimension];
        var random = new Random(0);
        for (var i = 0; i < features.Length; i++) features[i] = random.NextSingle();
        var table = new FeatureTable(indices.Select(i => items[i].Id).ToArray(), indices.Select(i => items[i].Label).ToArray(),
            indices.Select(i => items[i].Split).ToArray(), features, backbone.Dimension);
        Settle();
        var cpu = CpuSeconds();
        await FeatureStore.WriteAsync(path, table, backbone.Describe() with { Dimension = backbone.Dimension }, ct).ConfigureAwait(false);
        return CpuSeconds() - cpu;
    }

    /// <summary>The original model's graph input and output names (what the peer feeds and reads).</summary>
    private static (string Input, string Output) OriginalNames(string modelPath)
    {
        var graph = OnnxModel.Load(modelPath).Graph;
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var input = graph.Input.Select(i => i.Name).FirstOrDefault(n => !initializers.Contains(n)) ?? "input";
        var output = graph.Output.Select(o => o.Name).FirstOrDefault() ?? "output";
        return (input, output);
    }

    /// <summary>Lets the previous step's thread-pool spinners go idle and its garbage go, so it does not bill the next.</summary>
    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Thread.Sleep(200);
    }

    private static double CpuSeconds()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime.TotalSeconds;
    }

    private static double? LoadAverage()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    private static long PeakWorkingSet()
    {
        using var self = Process.GetCurrentProcess();
        return self.PeakWorkingSet64;
    }

    private static void TryDeleteFolder(string folder)
    {
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
