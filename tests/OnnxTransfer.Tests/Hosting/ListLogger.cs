using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OnnxTransfer.Tests.Hosting;

/// <summary>One formatted log entry.</summary>
public sealed record LogEntry(string Category, LogLevel Level, string Message);

/// <summary>A logger factory that keeps every entry in a list (thread-safe), for asserting what was logged.</summary>
public sealed class ListLoggerFactory : ILoggerFactory
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => _entries.ToArray();

    /// <summary>The entries at <paramref name="level"/>, of <paramref name="category"/> when given.</summary>
    public IReadOnlyList<LogEntry> At(LogLevel level, string? category = null) =>
        Entries.Where(e => e.Level == level && (category is null || e.Category == category)).ToArray();

    public ILogger CreateLogger(string categoryName) => new ListLogger(categoryName, _entries);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose() { }

    private sealed class ListLogger(string category, ConcurrentQueue<LogEntry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new LogEntry(category, logLevel, formatter(state, exception)));
    }
}
