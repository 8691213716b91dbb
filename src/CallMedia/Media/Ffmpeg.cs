using System.Diagnostics;
using System.Globalization;
using CallMedia.Hosting;
using CallMedia.Storage;
using Microsoft.Extensions.Options;

namespace CallMedia.Media;

/// <summary>ffmpeg failed; the message carries the tail of its standard error.</summary>
public sealed class FfmpegException(string message) : Exception(message);

/// <summary>
/// The one runner of ffmpeg and ffprobe: arguments as a list (never one concatenated string), every input opened
/// with a fixed format (<see cref="CheckInputs"/>), standard error drained while the tool runs, the whole process
/// tree killed when the caller gives up, and — for runs given a log — one log file holding the command quoted for
/// a shell, everything the tool wrote to standard error, and how it ended.
/// </summary>
public sealed class Ffmpeg(IOptions<MediaOptions> options, MediaRoot media)
{
    private const int TailLines = 20;

    /// <summary>The folder of the tools' log files (one per prepare job and per transcode).</summary>
    public string LogDir => Path.Combine(media.Root, ".logs");

    /// <summary>A path for a log file in <see cref="LogDir"/> (created when missing).</summary>
    public string LogPath(string name)
    {
        Directory.CreateDirectory(LogDir);
        return Path.Combine(LogDir, name);
    }

    public async Task RunAsync(IReadOnlyList<string> arguments, string? logPath = null, Action<string>? onStdout = null, CancellationToken ct = default)
    {
        await using var run = Launch(options.Value.Ffmpeg, FfmpegArguments(arguments), logPath, rawStdout: false, onStdout, null, ct);
        await run.Exited;
    }

    /// <summary>
    /// Starts ffmpeg with its standard output as a stream (for live transcodes). The caller reads
    /// <see cref="ToolRun.Output"/>; <see cref="ToolRun.Exited"/> completes when ffmpeg exits (throwing
    /// <see cref="FfmpegException"/> on failure). Disposing the run kills ffmpeg if it still runs.
    /// </summary>
    public ToolRun Start(IReadOnlyList<string> arguments, string? logPath, CancellationToken ct) =>
        Launch(options.Value.Ffmpeg, FfmpegArguments(arguments), logPath, rawStdout: true, null, null, ct);

    /// <summary>Runs ffprobe and returns its standard output.</summary>
    public async Task<string> ProbeAsync(IReadOnlyList<string> arguments, CancellationToken ct = default)
    {
        var output = new System.Text.StringBuilder();
        await using var run = Launch(options.Value.Ffprobe, ["-hide_banner", .. arguments], null, rawStdout: false, line => output.AppendLine(line), null, ct);
        await run.Exited;
        return output.ToString();
    }

    /// <summary>Runs ffprobe, whatever its exit code: the exit code, standard output and standard error.</summary>
    public async Task<(int ExitCode, string Output, IReadOnlyList<string> Errors)> ProbeRawAsync(IReadOnlyList<string> arguments, CancellationToken ct = default)
    {
        var output = new System.Text.StringBuilder();
        var errors = new List<string>();
        await using var run = Launch(options.Value.Ffprobe, ["-hide_banner", .. arguments], null, rawStdout: false, line => output.AppendLine(line), errors, ct);
        try
        {
            await run.Exited;
            return (0, output.ToString(), errors);
        }
        catch (FfmpegException)
        {
            return (run.ExitCode ?? -1, output.ToString(), errors);
        }
    }

    public static string ShellQuote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ':' or '+' or '=' or ',')
            ? argument
            : "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>
    /// Refuses a command with an input ffmpeg would open by guessing its format: a stored file whose content is a
    /// playlist or concat script would make ffmpeg read other files. Every <c>-i</c> needs a <c>-f</c> among its
    /// own input options, and a file input also <c>-protocol_whitelist</c>; ffprobe needs <c>-f</c> or
    /// <c>-format_whitelist</c>, and <c>-protocol_whitelist</c>.
    /// </summary>
    public static void CheckInputs(string tool, IReadOnlyList<string> arguments)
    {
        if (Path.GetFileNameWithoutExtension(tool).Contains("ffprobe", StringComparison.Ordinal))
        {
            if (!(arguments.Contains("-f") || arguments.Contains("-format_whitelist")) || !arguments.Contains("-protocol_whitelist"))
            {
                throw new ArgumentException("ffprobe needs a fixed input format (-f or -format_whitelist) and -protocol_whitelist");
            }

            return;
        }

        var groupStart = 0;
        for (var i = 0; i < arguments.Count; i++)
        {
            if (arguments[i] != "-i")
            {
                continue;
            }

            var group = arguments.Skip(groupStart).Take(i - groupStart).ToList();
            var f = group.LastIndexOf("-f");
            if (f < 0 || f + 1 >= group.Count)
            {
                throw new ArgumentException("an ffmpeg input has no fixed format (-f)");
            }

            if (group[f + 1] != "lavfi" && !group.Contains("-protocol_whitelist"))
            {
                throw new ArgumentException("an ffmpeg file input has no -protocol_whitelist");
            }

            groupStart = i + 2;
        }
    }

    private static string[] FfmpegArguments(IReadOnlyList<string> arguments) => ["-hide_banner", "-nostdin", "-y", .. arguments];

    private static ToolRun Launch(string tool, IReadOnlyList<string> arguments, string? logPath, bool rawStdout, Action<string>? onStdout, List<string>? errors, CancellationToken ct)
    {
        CheckInputs(tool, arguments);
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        var log = logPath is null ? null : new StreamWriter(logPath, append: true);
        // The exact command, quoted for a shell, so an operator can rerun it by hand.
        log?.WriteLine("$ " + string.Join(' ', arguments.Prepend(tool).Select(ShellQuote)));
        var process = new Process { StartInfo = start };
        var run = new ToolRun(process, Path.GetFileName(tool), log, errors);
        if (!rawStdout)
        {
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    onStdout?.Invoke(e.Data);
                }
            };
        }

        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            run.Close($"# cannot start: {ex.Message}");
            process.Dispose();
            throw new FfmpegException($"cannot start {tool}: {ex.Message} (install ffmpeg, or set Media:Ffmpeg / Media:Ffprobe)");
        }

        process.BeginErrorReadLine();
        if (!rawStdout)
        {
            process.BeginOutputReadLine();
        }

        // Taken now: a tool that exits fast has its process disposed by the wait below, and asking the disposed process
        // for its output then throws, though the output is still there to read.
        run.Begin(rawStdout ? process.StandardOutput.BaseStream : null, ct);
        return run;
    }

    /// <summary>One running ffmpeg or ffprobe: its standard output (raw runs), the task of its end, its log.</summary>
    public sealed class ToolRun : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _name;
        private readonly Queue<string> _tail = new(TailLines);
        private readonly List<string>? _errors;
        private StreamWriter? _log;
        private CancellationTokenRegistration _cancel;
        private Stream? _output;

        internal ToolRun(Process process, string name, StreamWriter? log, List<string>? errors)
        {
            _process = process;
            _name = name;
            _log = log;
            _errors = errors;
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    Record(e.Data);
                }
            };
        }

        /// <summary>Standard output as bytes, for runs started with <see cref="Start"/>.</summary>
        public Stream Output => _output ?? throw new InvalidOperationException("this run's output is read line by line");

        /// <summary>Completes when the tool exited and its standard error was read to the end.</summary>
        public Task Exited { get; private set; } = Task.CompletedTask;

        public int? ExitCode { get; private set; }

        internal void Begin(Stream? output, CancellationToken ct)
        {
            _output = output;
            _cancel = ct.Register(Kill);
            Exited = WaitAsync(ct);
        }

        public async ValueTask DisposeAsync()
        {
            if (!Exited.IsCompleted)
            {
                Kill();
            }

            try
            {
                await Exited;
            }
            catch (Exception ex) when (ex is FfmpegException or OperationCanceledException)
            {
                // Already reported to whoever awaited Exited; a run abandoned early ends here.
            }
            finally
            {
                _output?.Dispose();
            }
        }

        private async Task WaitAsync(CancellationToken ct)
        {
            try
            {
                // Returns after standard error reached end of file, so the tail is complete.
                await _process.WaitForExitAsync(CancellationToken.None);
                await _cancel.DisposeAsync();
                ExitCode = _process.ExitCode;
                if (ct.IsCancellationRequested)
                {
                    Close($"# killed: cancelled (exit code {ExitCode})");
                    throw new OperationCanceledException(ct);
                }

                Close(string.Create(CultureInfo.InvariantCulture, $"# exit code {ExitCode}"));
                if (ExitCode != 0)
                {
                    string lastLines;
                    lock (_tail)
                    {
                        lastLines = string.Join(" | ", _tail.TakeLast(4));
                    }

                    throw new FfmpegException($"{_name} exited with code {ExitCode}: {lastLines}");
                }
            }
            finally
            {
                Close(null);
                _process.Dispose();
            }
        }

        private void Kill()
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
            {
                // Already gone.
            }
        }

        private void Record(string line)
        {
            lock (_tail)
            {
                if (_tail.Count == TailLines)
                {
                    _tail.Dequeue();
                }

                _tail.Enqueue(line);
                _errors?.Add(line);
                _log?.WriteLine(line);
            }
        }

        internal void Close(string? lastLine)
        {
            lock (_tail)
            {
                if (_log is null)
                {
                    return;
                }

                if (lastLine is not null)
                {
                    _log.WriteLine(lastLine);
                }

                _log.Dispose();
                _log = null;
            }
        }
    }
}
