using OnnxTransfer.Evaluation;

namespace OnnxTransfer.WakeWords;

/// <summary>The report.json of <c>wakeword evaluate</c>: the audio used and each model's DET curve and operating points.</summary>
internal sealed record WakeWordReportFile(int Positives, IReadOnlyList<string> PositiveFiles, IReadOnlyList<string> PositiveSpeakers,
    IReadOnlyList<NegativeStreamEntry> NegativeStreams, IReadOnlyList<string> NegativeSpeakers, double NegativeHours,
    IReadOnlyList<WakeWordReportModel> Models);

/// <summary>A negative stream of the report: its name and how many files it joins.</summary>
internal sealed record NegativeStreamEntry(string Stream, int Files);

/// <summary>One model in the report.</summary>
internal sealed record WakeWordReportModel(string Model, string WakeWord, double RecommendedThreshold, double TargetFaPerHour,
    DetPoint AtRecommended, DetPoint AtDefault, DetPoint? AtModelThreshold, IReadOnlyList<double> PositiveScores,
    IReadOnlyList<FalseAccept> FalseAccepts, IReadOnlyList<DetPoint> Det, IReadOnlyList<SpeakerMisses> MissesBySpeaker);

/// <summary>One speaker's (or voice's) positive clips and how many of them a model missed at a threshold.</summary>
internal sealed record SpeakerMisses(string Speaker, int Clips, int Missed);
