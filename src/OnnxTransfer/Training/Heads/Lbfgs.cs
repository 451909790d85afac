namespace OnnxTransfer.Training.Heads;

/// <summary>A smooth function to minimise: writes the gradient at <c>x</c> and returns the value.</summary>
internal delegate double Objective(ReadOnlySpan<double> x, Span<double> gradient);

/// <summary>When <see cref="Lbfgs"/> stops.</summary>
/// <param name="GradientTolerance">Stop when the largest gradient component is at most this.</param>
/// <param name="MaxIterations">Stop after this many iterations.</param>
/// <param name="History">Correction pairs kept (the "m" of L-BFGS).</param>
internal sealed record LbfgsSettings(double GradientTolerance = 1e-5, int MaxIterations = 300, int History = 10);

/// <summary>How a minimisation ended.</summary>
/// <param name="Value">Objective at the returned point.</param>
/// <param name="GradientNorm">Largest gradient component there.</param>
/// <param name="Iterations">Iterations taken.</param>
/// <param name="Evaluations">Objective evaluations (including line-search trials).</param>
/// <param name="Converged">True when the gradient tolerance was met (not the iteration cap or a stalled line search).</param>
internal sealed record LbfgsResult(double Value, double GradientNorm, int Iterations, int Evaluations, bool Converged);

/// <summary>
/// Limited-memory BFGS (Nocedal &amp; Wright, algorithm 7.4: two-loop recursion, initial Hessian scaled by
/// sᵀy/yᵀy) with a backtracking Armijo line search that tries the unit step first. Pairs with non-positive
/// curvature are skipped, so the direction stays a descent direction without a Wolfe search. Plain loops in
/// a fixed order: the same start gives the same iterates bit for bit.
/// </summary>
internal static class Lbfgs
{
    private const double Armijo = 1e-4;

    /// <summary>Minimises <paramref name="f"/> starting from (and overwriting) <paramref name="x"/>.</summary>
    public static LbfgsResult Minimize(Objective f, double[] x, LbfgsSettings settings, CancellationToken ct = default)
    {
        var n = x.Length;
        var g = new double[n];
        var value = f(x, g);
        var evaluations = 1;
        if (!double.IsFinite(value)) throw new OnnxTransferException("L-BFGS: the loss at the starting point is not finite; check the features for extreme values.");
        var s = new List<double[]>();
        var y = new List<double[]>();
        var rho = new List<double>();
        var direction = new double[n];
        var alpha = new double[settings.History];
        var trial = new double[n];
        var trialGradient = new double[n];
        var iteration = 0;
        while (true)
        {
            var gNorm = MaxAbs(g);
            if (gNorm <= settings.GradientTolerance) return new(value, gNorm, iteration, evaluations, true);
            if (iteration >= settings.MaxIterations) return new(value, gNorm, iteration, evaluations, false);
            ct.ThrowIfCancellationRequested();

            // Two-loop recursion: direction = −H·g.
            for (var i = 0; i < n; i++) direction[i] = -g[i];
            for (var k = s.Count - 1; k >= 0; k--)
            {
                alpha[k] = rho[k] * Dot(s[k], direction);
                Axpy(-alpha[k], y[k], direction);
            }
            var gamma = s.Count > 0 ? Dot(s[^1], y[^1]) / Dot(y[^1], y[^1]) : 1 / Math.Max(Norm(g), 1e-300);
            for (var i = 0; i < n; i++) direction[i] *= gamma;
            for (var k = 0; k < s.Count; k++)
            {
                var beta = rho[k] * Dot(y[k], direction);
                Axpy(alpha[k] - beta, s[k], direction);
            }
            var slope = Dot(g, direction);
            if (!(slope < 0))
            {
                // Lost descent (rounding): restart from steepest descent.
                s.Clear(); y.Clear(); rho.Clear();
                for (var i = 0; i < n; i++) direction[i] = -g[i] / Math.Max(Norm(g), 1e-300);
                slope = Dot(g, direction);
            }

            var step = 1.0;
            double trialValue;
            while (true)
            {
                for (var i = 0; i < n; i++) trial[i] = x[i] + step * direction[i];
                trialValue = f(trial, trialGradient);
                evaluations++;
                if (double.IsFinite(trialValue) && trialValue <= value + Armijo * step * slope) break;
                step *= double.IsFinite(trialValue) ? Math.Clamp(Interpolate(value, slope, step, trialValue), 0.1, 0.5) : 0.1;
                if (step < 1e-20) return new(value, gNorm, iteration, evaluations, false); // no decrease left at this precision
            }
            var sk = new double[n];
            var yk = new double[n];
            for (var i = 0; i < n; i++) { sk[i] = trial[i] - x[i]; yk[i] = trialGradient[i] - g[i]; }
            var sy = Dot(sk, yk);
            if (sy > 1e-12 * Norm(sk) * Norm(yk))
            {
                if (s.Count == settings.History) { s.RemoveAt(0); y.RemoveAt(0); rho.RemoveAt(0); }
                s.Add(sk); y.Add(yk); rho.Add(1 / sy);
            }
            var previous = value;
            Array.Copy(trial, x, n);
            Array.Copy(trialGradient, g, n);
            value = trialValue;
            iteration++;
            if (previous - value <= 1e-15 * Math.Max(1, Math.Abs(value)))
                return new(value, MaxAbs(g), iteration, evaluations, MaxAbs(g) <= settings.GradientTolerance);
        }
    }

    /// <summary>Fraction of <paramref name="step"/> at the minimum of the quadratic through f(0), f'(0) and f(step).</summary>
    private static double Interpolate(double f0, double slope, double step, double fStep)
    {
        var curvature = fStep - f0 - slope * step;
        return curvature <= 0 ? 0.5 : -slope * step / (2 * curvature);
    }

    internal static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    private static double Norm(ReadOnlySpan<double> a) => Math.Sqrt(Dot(a, a));

    private static double MaxAbs(ReadOnlySpan<double> a)
    {
        double m = 0;
        foreach (var v in a) m = Math.Max(m, Math.Abs(v));
        return m;
    }

    private static void Axpy(double a, ReadOnlySpan<double> x, Span<double> y)
    {
        for (var i = 0; i < y.Length; i++) y[i] += a * x[i];
    }
}
