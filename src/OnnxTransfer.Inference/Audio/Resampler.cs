using System.Collections.Concurrent;
using System.Numerics.Tensors;

namespace OnnxTransfer.Audio;

/// <summary>
/// Band-limited sample-rate conversion by a rational factor (to/from reduced by their gcd, e.g.
/// 44100 -> 16000 = 160/441): a polyphase Kaiser-windowed sinc filter whose per-phase taps are computed
/// once. The cutoff is 0.9 × the lower Nyquist frequency with ≥ 90 dB stopband attenuation from 0.98 ×
/// Nyquist, so passband is flat to about 0.82 × Nyquist (6.5 kHz at 16 kHz) and nothing above the new
/// Nyquist folds back. Immutable and thread-safe.
/// </summary>
/// <remarks>
/// Output sample n sits at input time n·from/to, so the first output coincides with the first input and the
/// output has ceil(N·to/from) samples; the signal is taken as zero outside the input. When the reduced
/// up-factor exceeds <see cref="MaxPhases"/> (odd rates such as 44056 Hz) the table holds
/// <see cref="MaxPhases"/> phases and taps are linearly interpolated between neighbouring phases
/// (error far below the stopband).
/// </remarks>
internal sealed class Resampler
{
    /// <summary>Largest number of exact filter phases kept in the table.</summary>
    public const int MaxPhases = 1024;

    private const double Rolloff = 0.9;      // cutoff as a fraction of the lower Nyquist frequency
    private const int ZeroCrossings = 32;    // sinc lobes kept on each side of the centre
    private const double KaiserBeta = 8.96;  // 0.1102·(90 − 8.7): about 90 dB stopband

    private static readonly ConcurrentDictionary<(int, int), Resampler> Cache = new();

    private readonly int _up, _down;   // reduced ratio: out/in = _up/_down
    private readonly int _phases;      // rows in _table (+1 extra row when interpolating)
    private readonly bool _exact;      // _phases == _up: every output uses one table row as is
    private readonly int _half;        // taps on each side: input indices base-_half+1 .. base+_half
    private readonly float[] _table;   // [_phases (+1), 2·_half], row p = taps for fractional delay p/_phases

    /// <summary>Creates a converter from <paramref name="fromRate"/> Hz to <paramref name="toRate"/> Hz.</summary>
    public Resampler(int fromRate, int toRate)
    {
        if (fromRate <= 0 || toRate <= 0)
            throw new OnnxTransferException($"sample rates must be positive (got {fromRate} -> {toRate} Hz).");
        FromRate = fromRate;
        ToRate = toRate;
        var g = Gcd(fromRate, toRate);
        _up = toRate / g;
        _down = fromRate / g;
        _exact = _up <= MaxPhases;
        _phases = _exact ? _up : MaxPhases;

        // Cutoff in cycles per input sample × 2 (1 = input Nyquist); the kernel is c·sinc(c·d) windowed over |d| ≤ Z/c.
        var c = Rolloff * Math.Min(1.0, (double)_up / _down);
        var halfLength = ZeroCrossings / c;
        _half = (int)Math.Ceiling(halfLength);
        var taps = 2 * _half;
        var rows = _exact ? _phases : _phases + 1;
        _table = new float[rows * taps];
        var i0Beta = BesselI0(KaiserBeta);
        var row = new double[taps];
        for (var p = 0; p < rows; p++)
        {
            var frac = (double)p / _phases;
            double sum = 0;
            for (var k = 0; k < taps; k++)
            {
                var d = k - (_half - 1) - frac; // input index minus the output's input-time position
                var x = d / halfLength;
                var w = Math.Abs(x) >= 1 ? 0 : BesselI0(KaiserBeta * Math.Sqrt(1 - x * x)) / i0Beta;
                row[k] = c * Sinc(c * d) * w;
                sum += row[k];
            }
            // Unit DC gain on every phase: no ripple at DC from phase-dependent tap sums.
            for (var k = 0; k < taps; k++) _table[p * taps + k] = (float)(row[k] / sum);
        }
    }

    /// <summary>Input sample rate in Hz.</summary>
    public int FromRate { get; }

    /// <summary>Output sample rate in Hz.</summary>
    public int ToRate { get; }

    /// <summary>A shared converter for the pair of rates (built once per pair).</summary>
    public static Resampler For(int fromRate, int toRate) => Cache.GetOrAdd((fromRate, toRate), k => new Resampler(k.Item1, k.Item2));

    /// <summary>Resamples <paramref name="input"/> from <paramref name="fromRate"/> to <paramref name="toRate"/> Hz.</summary>
    public static float[] Resample(ReadOnlySpan<float> input, int fromRate, int toRate) =>
        fromRate == toRate ? input.ToArray() : For(fromRate, toRate).Process(input);

    /// <summary>Number of output samples for <paramref name="inputLength"/> input samples: ceil(N·to/from).</summary>
    public long OutputLength(long inputLength) => (inputLength * _up + _down - 1) / _down;

    /// <summary>Converts a whole signal (zero outside it).</summary>
    public float[] Process(ReadOnlySpan<float> input)
    {
        if (_up == _down) return input.ToArray();
        var outLength = OutputLength(input.Length);
        if (outLength > Array.MaxLength)
            throw new OnnxTransferException($"resampling {input.Length} samples from {FromRate} to {ToRate} Hz gives too many samples; split the audio.");
        var taps = 2 * _half;
        // Zero padding on both sides keeps the inner loop branch-free at the edges.
        var padded = new float[input.Length + taps + 1];
        input.CopyTo(padded.AsSpan(_half));
        var table = _table.AsSpan();
        var output = new float[outLength];
        for (long n = 0; n < outLength; n++)
        {
            var position = n * _down;                 // input time × _up
            var baseIndex = position / _up;
            var phase = (int)(position - baseIndex * _up);
            var window = padded.AsSpan((int)baseIndex + 1, taps); // input indices baseIndex-_half+1 .. baseIndex+_half
            if (_exact)
            {
                output[n] = TensorPrimitives.Dot(window, table.Slice(phase * taps, taps));
            }
            else
            {
                var at = (double)phase * _phases / _up;
                var row = (int)at;
                var w = (float)(at - row);
                var a = TensorPrimitives.Dot(window, table.Slice(row * taps, taps));
                var b = TensorPrimitives.Dot(window, table.Slice((row + 1) * taps, taps));
                output[n] = a + w * (b - a);
            }
        }
        return output;
    }

    private static double Sinc(double x) => x == 0 ? 1 : Math.Sin(Math.PI * x) / (Math.PI * x);

    private static double BesselI0(double x)
    {
        // Power series: sum ((x/2)^k / k!)^2, converges quickly for the β used here.
        double sum = 1, term = 1, half = x / 2;
        for (var k = 1; k < 200; k++)
        {
            term *= half / k;
            var t2 = term * term;
            sum += t2;
            if (t2 < 1e-17 * sum) break;
        }
        return sum;
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }
}
