using OnnxTransfer.Onnx;

namespace OnnxTransfer.Export;

/// <summary><see cref="ModelMetadata"/> read from and written to an <see cref="OnnxModel"/>'s metadata_props.</summary>
public static class ModelMetadataOnnx
{
    extension(ModelMetadata)
    {
        /// <summary>Reads the metadata of a model exported by this toolkit.</summary>
        public static ModelMetadata Read(OnnxModel model) => ModelMetadata.Read(model.Metadata, model.DisplayName);
    }

    extension(ModelMetadata metadata)
    {
        /// <summary>Writes every non-null field into <paramref name="model"/>'s metadata_props.</summary>
        public void WriteTo(OnnxModel model)
        {
            foreach (var (key, value) in metadata.Properties()) model.SetMetadata(key, value);
        }
    }
}
