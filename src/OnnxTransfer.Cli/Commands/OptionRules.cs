using System.CommandLine;
using System.Globalization;

namespace OnnxTransfer.Cli.Commands;

/// <summary>
/// Range checks on numeric options, run by the parser before the command starts any work; an error names
/// the option, the value given and what is accepted.
/// </summary>
internal static class OptionRules
{
    /// <summary>Refuses values below <paramref name="min"/>.</summary>
    public static Option<int> AtLeast(this Option<int> option, int min) =>
        Check(option, v => v >= min, $"must be at least {min}");

    /// <summary>Refuses values below <paramref name="min"/> (an absent value is fine).</summary>
    public static Option<int?> AtLeast(this Option<int?> option, int min) =>
        Check(option, v => v is null || v >= min, $"must be at least {min}");

    /// <summary>Refuses zero, negative, infinite and NaN values.</summary>
    public static Option<double?> Positive(this Option<double?> option) =>
        Check(option, v => v is null || (v > 0 && double.IsFinite(v.Value)), "must be a positive number");

    /// <summary>Refuses values outside [0, 1) (and NaN).</summary>
    public static Option<double?> Fraction(this Option<double?> option) =>
        Check(option, v => v is null || v is >= 0 and < 1, "must be a fraction in [0, 1)");

    /// <summary>Refuses values outside (0, 1) (and NaN).</summary>
    public static Option<double> OpenFraction(this Option<double> option) =>
        Check(option, v => v is > 0 and < 1, "must be a fraction between 0 and 1 (exclusive)");

    /// <summary>Refuses a value <paramref name="parse"/> rejects; its one-line message is the error. An absent value is fine.</summary>
    public static Option<T> Parses<T>(this Option<T> option, Action<T> parse)
    {
        option.Validators.Add(result =>
        {
            if (!TryGetValue(result, out T value) || value is null) return;
            try { parse(value); }
            catch (OnnxTransferException e) { result.AddError(e.Message); }
        });
        return option;
    }

    private static Option<T> Check<T>(Option<T> option, Func<T, bool> valid, string rule)
    {
        option.Validators.Add(result =>
        {
            if (TryGetValue(result, out T value) && !valid(value))
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"{option.Name} {value}: {rule}."));
        });
        return option;
    }

    // A value that is not even of the option's type (--epochs abc) already carries the parser's own error.
    private static bool TryGetValue<T>(System.CommandLine.Parsing.OptionResult result, out T value)
    {
        try
        {
            value = result.GetValueOrDefault<T>();
            return true;
        }
        catch (InvalidOperationException)
        {
            value = default!;
            return false;
        }
    }
}
