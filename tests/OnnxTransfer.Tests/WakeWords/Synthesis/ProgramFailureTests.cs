using System.Diagnostics;
using OnnxTransfer.WakeWords.Synthesis;

namespace OnnxTransfer.Tests.WakeWords.Synthesis;

public class ProgramFailureTests
{
    [Theory]
    [InlineData("espeak-ng", "en-us", "apt-get install espeak-ng")]
    [InlineData("flite", "slt", "apt-get install flite")]
    [InlineData("festival", "kal_diphone", "apt-get install festival festvox-kallpc16k")]
    public void MissingProgram_GivesOneLineWithTheFix(string engine, string voice, string fix)
    {
        ISpeechSynthesizer synthesizer = engine switch
        {
            "espeak-ng" => new EspeakSynthesizer("/nonexistent/espeak-ng"),
            "flite" => new FliteSynthesizer("/nonexistent/flite"),
            _ => new FestivalSynthesizer("/nonexistent/festival"),
        };
        foreach (var action in new Action[] { synthesizer.EnsureAvailable, () => synthesizer.Synthesize("hey jarvis", new SynthesisVoice(engine, voice)) })
        {
            var e = Assert.Throws<OnnxTransferException>(action);
            Assert.StartsWith($"{engine}: not installed (/nonexistent/{engine} not found", e.Message);
            Assert.Contains("tools/bootstrap", e.Message);
            Assert.Contains(fix, e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
        Assert.NotEmpty(synthesizer.VoiceNames); // the built-in list still names the voices
    }

    /// <summary>A fake synthesizer that writes its pid to <paramref name="pidFile"/> and then hangs.</summary>
    private static string HangingProgram(TempDir dir, string pidFile)
    {
        var path = dir.File("hang.sh");
        File.WriteAllText(path, $"#!/bin/sh\necho $$ > '{pidFile}'\nexec sleep 60\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static void AssertKilled(string pidFile)
    {
        var pid = int.Parse(File.ReadAllText(pidFile).Trim());
        Assert.False(Directory.Exists($"/proc/{pid}"), $"process {pid} still runs");
    }

    [Fact]
    public void HangingProgram_IsKilled_WithATimeoutError()
    {
        using var dir = new TempDir();
        var pidFile = dir.File("pid");
        var festival = new FestivalSynthesizer(HangingProgram(dir, pidFile)) { Timeout = TimeSpan.FromSeconds(1) };
        var watch = Stopwatch.StartNew();
        var e = Assert.Throws<OnnxTransferException>(() => festival.Synthesize("hey jarvis", new SynthesisVoice("festival", "kal_diphone")));
        Assert.InRange(watch.Elapsed.TotalSeconds, 3.5, 15); // 1 s per batch + 3 s for the one utterance
        Assert.Contains("did not finish within 4 s", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        AssertKilled(pidFile);
    }

    [Fact]
    public void Cancellation_KillsTheProgram_AndThrowsOperationCanceled()
    {
        using var dir = new TempDir();
        var pidFile = dir.File("pid");
        var espeak = new EspeakSynthesizer(HangingProgram(dir, pidFile)) { Timeout = TimeSpan.FromSeconds(30) };
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var watch = Stopwatch.StartNew();
        Assert.Throws<OperationCanceledException>(() => espeak.Synthesize([new("hey jarvis", new SynthesisVoice("espeak-ng", "en-us"))], cts.Token));
        Assert.True(watch.Elapsed.TotalSeconds < 10, $"{watch.Elapsed.TotalSeconds:0.0} s");
        AssertKilled(pidFile);
    }
}
