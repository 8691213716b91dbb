using System.Diagnostics;
using CallMedia.Hosting;
using Microsoft.Extensions.Options;

namespace CallMedia.Media;

/// <summary>ffmpeg failed; the message carries the tail of its standard error.</summary>
public sealed class FfmpegException(string message) : Exception(message);

/// <summary>
/// Runs ffmpeg as a process: arguments as a list (never one concatenated string), standard error drained while it
/// runs (into the job's log when there is one), the whole process tree killed when the caller gives up.
/// </summary>
public sealed class Ffmpeg(IOptions<MediaOptions> options)
{
    private const int TailLines = 20;

    public Task RunAsync(IReadOnlyList<string> arguments, string? logPath = null, Action<string>? onStdout = null, CancellationToken ct = default) =>
        RunToolAsync(options.Value.Ffmpeg, ["-hide_banner", "-nostdin", "-y", .. arguments], logPath, ct, onStdout);

    /// <summary>
    /// Starts ffmpeg with its standard output as a stream (for live transcodes). The caller reads the stream;
    /// the returned task completes when ffmpeg exits (throwing <see cref="FfmpegException"/> on failure).
    /// </summary>
    public (Stream Output, Task Exited) Start(IReadOnlyList<string> arguments, CancellationToken ct)
    {
        var start = new ProcessStartInfo(options.Value.Ffmpeg)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["-hide_banner", "-nostdin", "-y", .. arguments])
        {
            start.ArgumentList.Add(a);
        }

        var process = new Process { StartInfo = start };
        var tail = new Queue<string>(TailLines);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (tail)
                {
                    if (tail.Count == TailLines)
                    {
                        tail.Dequeue();
                    }

                    tail.Enqueue(e.Data);
                }
            }
        };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            process.Dispose();
            throw new FfmpegException($"cannot start ffmpeg: {ex.Message} (install ffmpeg, or set Media:Ffmpeg)");
        }

        process.BeginErrorReadLine();
        async Task WaitAsync()
        {
            try
            {
                await process.WaitForExitAsync(ct);
                if (process.ExitCode != 0)
                {
                    lock (tail)
                    {
                        throw new FfmpegException($"ffmpeg exited with code {process.ExitCode}: {string.Join(" | ", tail.TakeLast(4))}");
                    }
                }
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
            finally
            {
                process.Dispose();
            }
        }

        return (process.StandardOutput.BaseStream, WaitAsync());
    }

    /// <summary>Runs ffprobe and returns its standard output.</summary>
    public async Task<string> ProbeAsync(IReadOnlyList<string> arguments, CancellationToken ct = default)
    {
        var output = new System.Text.StringBuilder();
        await RunToolAsync(options.Value.Ffprobe, ["-hide_banner", .. arguments], null, ct, line => output.AppendLine(line));
        return output.ToString();
    }

    public static string ShellQuote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ':' or '+' or '=' or ',')
            ? argument
            : "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static async Task RunToolAsync(string tool, IReadOnlyList<string> arguments, string? logPath, CancellationToken ct, Action<string>? onStdout = null)
    {
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

        using var process = new Process { StartInfo = start };
        var tail = new Queue<string>(TailLines);
        StreamWriter? log = logPath is null ? null : new StreamWriter(logPath, append: true);
        try
        {
            // The exact command, quoted for a shell, so an operator can rerun a job by hand.
            log?.WriteLine("$ " + string.Join(' ', arguments.Prepend(tool).Select(ShellQuote)));
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    return;
                }

                lock (tail)
                {
                    if (tail.Count == TailLines)
                    {
                        tail.Dequeue();
                    }

                    tail.Enqueue(e.Data);
                    log?.WriteLine(e.Data);
                }
            };
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    onStdout?.Invoke(e.Data);
                }
            };
            try
            {
                process.Start();
            }
            catch (System.ComponentModel.Win32Exception ex)
            {
                throw new FfmpegException($"cannot start {tool}: {ex.Message} (install ffmpeg, or set Media:Ffmpeg / Media:Ffprobe)");
            }

            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            try
            {
                await process.WaitForExitAsync(ct);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            // WaitForExitAsync returns after the redirected streams reached end of file, so the tail is complete.
            if (process.ExitCode != 0)
            {
                string lastLines;
                lock (tail)
                {
                    lastLines = string.Join(" | ", tail.TakeLast(4));
                }

                throw new FfmpegException($"{Path.GetFileName(tool)} exited with code {process.ExitCode}: {lastLines}");
            }
        }
        finally
        {
            if (log is not null)
            {
                lock (tail)
                {
                    log.Dispose();
                }
            }
        }
    }
}
