namespace OnnxTransfer.Data;

/// <summary>
/// Finds the items of a dataset on disk. Layouts, detected in this order: a CSV manifest (the path is a .csv
/// file, or the folder holds exactly one .csv at its top that reads as a manifest), split folders (<c>root/train/&lt;label&gt;/*</c>,
/// <c>val</c>/<c>valid</c>/<c>validation</c>, <c>test</c>, any case), class folders (<c>root/&lt;label&gt;/*</c>),
/// or loose files (unlabeled). Class folders are searched recursively. Hidden entries and files with other
/// extensions are skipped and counted in <see cref="Dataset.Scan"/>.
/// </summary>
public static class DatasetLoader
{
    private const string ExpectedLayouts =
        "expected <root>/<label>/<files>, <root>/{train,val,test}/<label>/<files>, or a CSV manifest 'path,label[,split]'";

    /// <summary>Loads the dataset at <paramref name="path"/> (a folder or a CSV manifest).</summary>
    /// <exception cref="OnnxTransferException">The path is missing, ambiguous, malformed or holds no items.</exception>
    public static Dataset Load(string path, DatasetLoadOptions? options = null)
    {
        options ??= new DatasetLoadOptions();
        var full = Path.GetFullPath(path);
        if (File.Exists(full))
        {
            if (!IsCsv(full))
                throw new OnnxTransferException($"{path}: is a file; pass a dataset folder or a .csv manifest.");
            if (options.Layout is { } forced && forced != DatasetLayout.CsvManifest)
                throw new OnnxTransferException($"{path}: a file was given but layout {forced} needs a folder; pass the dataset folder.");
            return new CsvManifestReader(full, options).Read();
        }
        if (!Directory.Exists(full))
            throw new OnnxTransferException($"{path}: dataset folder not found; {ExpectedLayouts}.");

        var layout = options.Layout ?? Detect(full, options);
        if (layout == DatasetLayout.CsvManifest)
        {
            var manifest = TopLevel(full, dirs: false).Where(IsCsv).ToArray() is [var single] ? single
                : throw new OnnxTransferException($"{path}: layout CsvManifest needs exactly one .csv file at the top of the folder; pass the manifest's path instead.");
            return new CsvManifestReader(manifest, options).Read();
        }
        return new FolderScanner(full, options).Scan(layout);
    }

    /// <summary>Maps a split folder or column name to "train", "val" or "test" (null when it is not one of them).</summary>
    public static string? NormalizeSplit(string name) => name.Trim().ToLowerInvariant() switch
    {
        "train" or "training" => "train",
        "val" or "valid" or "validation" => "val",
        "test" or "testing" => "test",
        _ => null,
    };

    internal static bool IsHidden(FileSystemInfo entry) =>
        entry.Name.StartsWith('.') || (entry.Attributes & FileAttributes.Hidden) != 0;

    private static bool IsCsv(string file) => file.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);

    private static IEnumerable<string> TopLevel(string dir, bool dirs) =>
        (dirs ? new DirectoryInfo(dir).EnumerateDirectories() : new DirectoryInfo(dir).EnumerateFiles().Cast<FileSystemInfo>())
        .Where(e => !IsHidden(e)).Select(e => e.FullName).Order(StringComparer.Ordinal);

    private static DatasetLayout Detect(string root, DatasetLoadOptions options)
    {
        var csvs = options.Extensions.Any(e => e.Equals(".csv", StringComparison.OrdinalIgnoreCase))
            ? [] : TopLevel(root, dirs: false).Where(IsCsv).ToArray();
        var subdirs = TopLevel(root, dirs: true).ToArray();
        // A lone CSV beside folders may be unrelated (e.g. a submission template): only take it when it reads as a manifest.
        if (csvs.Length == 1 && (subdirs.Length == 0 || new CsvManifestReader(csvs[0], options).LooksLikeManifest()))
            return DatasetLayout.CsvManifest;
        if (csvs.Length > 1 && subdirs.Length == 0)
            throw new OnnxTransferException($"{root}: {csvs.Length} CSV files at the top ({string.Join(", ", csvs.Select(Path.GetFileName))}); pass the manifest's path instead of the folder.");
        if (subdirs.Length == 0)
            return DatasetLayout.Unlabeled;
        var splits = subdirs.Where(d => NormalizeSplit(Path.GetFileName(d)) is not null).ToArray();
        if (splits.Length == 0)
            return DatasetLayout.ClassFolders;
        if (splits.Length == subdirs.Length)
            return DatasetLayout.SplitFolders;
        var others = subdirs.Except(splits).Select(Path.GetFileName);
        throw new OnnxTransferException(
            $"{root}: mixes split folders ({string.Join(", ", splits.Select(Path.GetFileName))}) with other folders ({string.Join(", ", others)}); " +
            "move classes under train/val/test or rename the split folders.");
    }

    internal static string NoItems(string where, DatasetLoadOptions options) =>
        $"{where}: no {string.Join("/", options.Extensions)} files found; {ExpectedLayouts}.";

    /// <summary>Walks class folders and split folders.</summary>
    private sealed class FolderScanner(string root, DatasetLoadOptions options)
    {
        private readonly List<DatasetItem> _items = [];
        private readonly List<string> _warnings = [];
        private int _hidden, _otherExtension, _stray;

        public Dataset Scan(DatasetLayout layout)
        {
            switch (layout)
            {
                case DatasetLayout.SplitFolders:
                    CountHiddenAndStray(root, strayIsItem: false);
                    foreach (var splitDir in TopLevel(root, dirs: true))
                    {
                        var split = NormalizeSplit(Path.GetFileName(splitDir))
                            ?? throw new OnnxTransferException($"{splitDir}: not a split folder (train, val, valid, validation, test); move it or load with another layout.");
                        CountHiddenAndStray(splitDir, strayIsItem: false);
                        foreach (var classDir in TopLevel(splitDir, dirs: true))
                            AddClassFolder(classDir, split, viaLink: IsLink(splitDir));
                    }
                    WarnMissingLabels();
                    break;
                case DatasetLayout.ClassFolders:
                    CountHiddenAndStray(root, strayIsItem: false);
                    foreach (var classDir in TopLevel(root, dirs: true))
                        AddClassFolder(classDir, "", viaLink: false);
                    break;
                case DatasetLayout.Unlabeled:
                    CountHiddenAndStray(root, strayIsItem: true);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(layout), layout, null);
            }
            if (_items.Count == 0)
                throw new OnnxTransferException(NoItems(root, options));
            if (_stray > 0)
                _warnings.Add($"{_stray} file(s) outside class folders were ignored");
            _items.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
            return new Dataset(root, layout, _items, _hidden, _otherExtension, _stray, _warnings);
        }

        // Top-level files of a root or split folder: hidden ones and foreign extensions are counted; accepted
        // files either become unlabeled items or are counted as stray.
        private void CountHiddenAndStray(string dir, bool strayIsItem)
        {
            foreach (var entry in new DirectoryInfo(dir).EnumerateFileSystemInfos())
            {
                if (IsHidden(entry)) { _hidden++; continue; }
                if (entry is not FileInfo file) continue;
                if (!options.Accepts(file.Name)) { _otherExtension++; continue; }
                if (strayIsItem) Add(file, "", "", viaLink: false);
                else _stray++;
            }
        }

        private void AddClassFolder(string classDir, string split, bool viaLink)
        {
            var label = Path.GetFileName(classDir);
            var before = _items.Count;
            AddRecursive(new DirectoryInfo(classDir), label, split, viaLink || IsLink(classDir));
            if (_items.Count == before)
                _warnings.Add($"class folder '{Relative(classDir)}' has no {string.Join("/", options.Extensions)} files");
        }

        private void AddRecursive(DirectoryInfo dir, string label, string split, bool viaLink)
        {
            foreach (var entry in dir.EnumerateFileSystemInfos())
            {
                if (IsHidden(entry)) { _hidden++; continue; }
                switch (entry)
                {
                    // Symlinked folders are not followed: they can form cycles.
                    case DirectoryInfo sub when sub.LinkTarget is null: AddRecursive(sub, label, split, viaLink); break;
                    case FileInfo file when options.Accepts(file.Name): Add(file, label, split, viaLink); break;
                    case FileInfo: _otherExtension++; break;
                }
            }
        }

        // Only a symlink (the file, or a folder above it in the dataset) can lead outside; plain entries are not resolved.
        private void Add(FileInfo file, string label, string split, bool viaLink)
        {
            var path = file.FullName;
            if (!options.AllowOutsidePaths && (viaLink || file.LinkTarget is not null) && !InputFile.IsInside(root, path))
                throw new OnnxTransferException($"{path}: resolves through a symlink to {InputFile.RealPath(path)}, outside the dataset folder {root}; copy the file in, or pass --allow-outside-paths.");
            InputFile.EnsureReadable(path);
            _items.Add(new DatasetItem(path, Relative(path), label, split));
        }

        private static bool IsLink(string dir) => new DirectoryInfo(dir).LinkTarget is not null;

        private string Relative(string path) => Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');

        private void WarnMissingLabels()
        {
            var labelsBySplit = _items.GroupBy(i => i.Split).ToDictionary(g => g.Key, g => g.Select(i => i.Label).ToHashSet());
            if (!labelsBySplit.TryGetValue("train", out var train)) return;
            foreach (var (split, labels) in labelsBySplit.Where(kv => kv.Key != "train").OrderBy(kv => kv.Key, StringComparer.Ordinal))
                foreach (var missing in train.Except(labels).Order(StringComparer.Ordinal))
                    _warnings.Add($"label '{missing}' is in train but not in {split}");
        }
    }
}
