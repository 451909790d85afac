namespace OnnxTransfer.Data;

/// <summary>One example of a dataset: a file, its class label and its split.</summary>
/// <param name="Path">Absolute path of the file.</param>
/// <param name="Id">Stable identifier: the path relative to the dataset root, with '/' separators.
/// Feature stores, shards and resumes key on it.</param>
/// <param name="Label">Class label ("" when unlabeled).</param>
/// <param name="Split">"train", "val", "test", another name, or "" when the dataset has no splits.</param>
public sealed record DatasetItem(string Path, string Id, string Label, string Split);
