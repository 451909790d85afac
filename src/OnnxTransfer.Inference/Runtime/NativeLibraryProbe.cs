using System.Runtime.InteropServices;

namespace OnnxTransfer.Runtime;

/// <summary>Whether a native library could be loaded (as the dynamic loader would find it).</summary>
/// <param name="Library">The file name looked for, e.g. "libcublasLt.so.13".</param>
/// <param name="Found">True when one of the candidate names loaded.</param>
/// <param name="LoadedAs">The name that loaded.</param>
/// <param name="Path">Full path of the loaded file when it can be told (Linux).</param>
/// <param name="Fix">What to install when it was not found (empty when found or unknown).</param>
public sealed record NativeLibraryStatus(string Library, bool Found, string? LoadedAs, string? Path, string Fix = "");

/// <summary>Probes native libraries by loading them (dlopen), and tells where a loaded library lives.</summary>
internal static class NativeLibraryProbe
{
    /// <summary>Tries each of <paramref name="names"/> in turn; the first that loads wins.</summary>
    public static NativeLibraryStatus Probe(string library, IEnumerable<string> names)
    {
        foreach (var name in names)
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) continue;
            var path = MappedPath(name);
            NativeLibrary.Free(handle);
            return new NativeLibraryStatus(library, true, name, path);
        }
        return new NativeLibraryStatus(library, false, null, null);
    }

    /// <summary>
    /// The full path of a library mapped into this process whose file name starts with <paramref name="name"/>'s
    /// stem (<c>libfoo.so.1</c> → <c>libfoo.so</c>), or null (not mapped, or not Linux).
    /// </summary>
    public static string? MappedPath(string name)
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            // /proc/self/maps lists every mapped file; a loaded library is among them while a handle is held.
            var stem = name.Split(".so")[0] + ".so";
            return File.ReadLines("/proc/self/maps")
                .Select(l => l.IndexOf('/') is var i and >= 0 ? l[i..].Trim() : null)
                .FirstOrDefault(p => p is not null && IsStem(System.IO.Path.GetFileName(p), stem));
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    // "libonnxruntime.so" must match libonnxruntime.so and libonnxruntime.so.1.31.0, not libonnxruntime_providers_shared.so.
    private static bool IsStem(string fileName, string stem) =>
        fileName.StartsWith(stem, StringComparison.Ordinal) && (fileName.Length == stem.Length || fileName[stem.Length] == '.');
}
