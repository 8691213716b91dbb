using System.Diagnostics;

namespace CallMedia.Cli;

/// <summary>
/// The progress of a long command on standard error, shared by <c>import</c> and <c>prepare</c>: on a terminal one
/// line rewritten in place (at most five times a second), otherwise a plain line every few seconds, so logs stay
/// readable. The last state (<c>final</c>) is always shown.
/// </summary>
public sealed class ProgressLine(CliConsole console)
{
    private static readonly TimeSpan TerminalEvery = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan PlainEvery = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private TimeSpan? _last;
    private int _width;
    private bool _open;

    /// <summary>Time since the command started.</summary>
    public TimeSpan Elapsed => _watch.Elapsed;

    /// <summary>Shows <paramref name="line"/> unless a line was shown too recently (a final line always shows).</summary>
    public void Report(string line, bool final = false)
    {
        lock (_gate)
        {
            var now = _watch.Elapsed;
            if (!final && _last is { } last && now - last < (console.OutputIsTerminal ? TerminalEvery : PlainEvery))
            {
                return;
            }

            _last = now;
            if (console.OutputIsTerminal)
            {
                console.Error.Write("\r" + line.PadRight(_width));
                _width = Math.Max(_width, line.Length);
                _open = true;
            }
            else
            {
                console.Error.WriteLine(line);
            }
        }
    }

    /// <summary>Ends the rewritten line, so what follows starts on a line of its own.</summary>
    public void Finish()
    {
        lock (_gate)
        {
            if (_open)
            {
                console.Error.WriteLine();
                _open = false;
            }
        }
    }
}
