using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace CallMedia.IntegrationTests.Infrastructure;

/// <summary>
/// Everything every test server logs in this run, and every secret the tests handled (passwords they sent,
/// session ids and tokens they received), so a test can prove that no secret reached a log.
/// </summary>
public sealed class LogSink : ILoggerProvider
{
    public static readonly LogSink Shared = new();

    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentDictionary<string, byte> _secrets = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> Lines => _lines;

    public IReadOnlyCollection<string> Secrets => (IReadOnlyCollection<string>)_secrets.Keys;

    public void AddSecret(string secret)
    {
        if (secret.Length >= 8)
        {
            _secrets.TryAdd(secret, 0);
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(' ', pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            sink._lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} [{values}] {exception}");
        }
    }
}
