namespace OnnxTransfer.Data;

/// <summary>How a dataset is laid out on disk (auto-detected by <see cref="DatasetLoader"/>).</summary>
public enum DatasetLayout
{
    /// <summary><c>root/&lt;label&gt;/*</c>: one folder per class, no splits.</summary>
    ClassFolders,
    /// <summary><c>root/{train,val,test}/&lt;label&gt;/*</c> (also <c>valid</c>/<c>validation</c>, any case).</summary>
    SplitFolders,
    /// <summary>A CSV manifest <c>path,label[,split]</c> with paths relative to the CSV's folder.</summary>
    CsvManifest,
    /// <summary>Files directly in the root folder, no labels (for prediction).</summary>
    Unlabeled,
}
