using System.Diagnostics;

namespace CallMedia.IntegrationTests.Infrastructure;

/// <summary>Runs a real command-line tool (curl, unzip, 7z, python3, ffprobe) and captures what it printed.</summary>
public static class Tool
{
    public static async Task<(int Exit, string Out, string Error)> RunAsync(string file, IEnumerable<string> args, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs a tool and fails the test, with its output, unless it exits 0.</summary>
    public static async Task<string> RequireAsync(string file, params string[] args)
    {
        var (exit, output, error) = await RunAsync(file, args);
        Assert.True(exit == 0, $"{file} {string.Join(' ', args)} exited {exit}: {output} {error}");
        return output;
    }
}
