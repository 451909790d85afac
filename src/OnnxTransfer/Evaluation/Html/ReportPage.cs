using System.Globalization;
using System.Text;
using System.Text.Json;

namespace OnnxTransfer.Evaluation.Html;

/// <summary>
/// The shell of a report page: one self-contained HTML file (inline CSS, script and data; no network, opens from disk) whose
/// script draws everything from a JSON block. Reports differ only in that JSON.
/// </summary>
internal static class ReportPage
{
    /// <summary>The file name written beside report.json.</summary>
    public const string FileName = "report.html";

    /// <summary>The page text: <paramref name="title"/> and the data <paramref name="writeData"/> writes into the JSON object.</summary>
    public static string Build(string title, Action<Utf8JsonWriter> writeData)
    {
        using var buffer = new MemoryStream();
        // The default encoder escapes '<', '>' and '&', so the JSON cannot close its <script> element early.
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("title", title);
            w.WriteString("written", DateTime.Now.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture));
            writeData(w);
            w.WriteEndObject();
        }
        var html = new StringBuilder();
        html.Append("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        html.Append("<title>").Append(System.Net.WebUtility.HtmlEncode(title)).Append("</title>\n<style>\n").Append(Resource("report.css")).Append("</style></head>\n");
        html.Append("<body><main id=\"app\"><noscript>This report draws its content with JavaScript; enable it to see the report.</noscript></main>\n");
        html.Append("<script type=\"application/json\" id=\"report-data\">").Append(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length)).Append("</script>\n");
        html.Append("<script>\n").Append(Resource("report.js")).Append("</script>\n</body></html>\n");
        return html.ToString();
    }

    /// <summary>Writes a number, or null for NaN and infinities (JSON has no such numbers).</summary>
    public static void Number(Utf8JsonWriter w, string key, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(key, value);
        else w.WriteNull(key);
    }

    /// <summary>Writes a string-to-string map as an object.</summary>
    public static void Map(Utf8JsonWriter w, string key, IEnumerable<KeyValuePair<string, string>> map)
    {
        w.WriteStartObject(key);
        foreach (var (k, v) in map) w.WriteString(k, v);
        w.WriteEndObject();
    }

    private static string Resource(string name)
    {
        using var stream = typeof(ReportPage).Assembly.GetManifestResourceStream("OnnxTransfer.Report." + name)
            ?? throw new InvalidOperationException($"embedded resource {name} is missing from the build.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
