using System.Diagnostics;
using System.Globalization;
using CallMedia.Import;

namespace CallMedia.Cli;

/// <summary><c>callmedia import &lt;manifest.csv&gt; [--link] [--dry-run]</c>.</summary>
public static class ImportCommand
{
    public static async Task<int> RunAsync(CliArgs cli, IServiceProvider services, CliConsole console, CancellationToken ct)
    {
        var manifest = cli.Word(1, "manifest path");
        if (!File.Exists(manifest))
        {
            throw new UsageException($"no manifest at {manifest}");
        }

        var watch = Stopwatch.StartNew();
        var reporter = new ProgressReporter(console, watch);
        ImportSummary summary;
        try
        {
            summary = await services.GetRequiredService<ManifestImporter>().ImportAsync(manifest, cli.Flag("--link"), cli.Flag("--dry-run"), reporter, ct);
        }
        catch (InvalidDataException ex)
        {
            throw new UsageException(ex.Message);
        }

        reporter.Finish();
        foreach (var error in summary.Errors)
        {
            await console.Error.WriteLineAsync($"line {error.Line}: {error.Message}");
        }

        var seconds = Math.Max(watch.Elapsed.TotalSeconds, 0.001);
        var verb = cli.Flag("--dry-run") ? "would add" : "added";
        await console.Out.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"import: {verb} {summary.CouplesAdded} couples (+{summary.CouplesExtended} extended), {summary.FilesAdded} files, {summary.BytesAdded / 1e6:0.0} MB; " +
            $"{summary.CouplesUnchanged} couples unchanged; {summary.CouplesRejected} rejected; " +
            $"{seconds:0.0} s ({summary.FilesAdded / seconds:0} files/s, {summary.BytesAdded / 1e6 / seconds:0.0} MB/s)"));
        if (summary.Errors.Count > 0)
        {
            await console.Error.WriteLineAsync($"callmedia: import finished with {summary.Errors.Count} rejected rows ({summary.CouplesRejected} couples not stored)");
            return 1;
        }

        if (!cli.Flag("--dry-run"))
        {
            await CliApp.AuditAdminAsync(services, $"admin.import:{Path.GetFileName(manifest)}:{summary.FilesAdded}");
        }

        return 0;
    }

    /// <summary>Files, bytes, rate and ETA: one rewritten line on a terminal, a plain line every few seconds otherwise.</summary>
    private sealed class ProgressReporter(CliConsole console, Stopwatch watch) : IProgress<ImportProgress>
    {
        private readonly Lock _gate = new();
        private TimeSpan? _last;
        private bool _wroteTerminalLine;

        public void Report(ImportProgress value)
        {
            lock (_gate)
            {
                var now = watch.Elapsed;
                var every = console.OutputIsTerminal ? TimeSpan.FromMilliseconds(200) : TimeSpan.FromSeconds(5);
                if (_last is { } last && now - last < every && value.FilesDone < value.FilesTotal)
                {
                    return;
                }

                _last = now;
                var seconds = Math.Max(now.TotalSeconds, 0.001);
                var rate = value.BytesDone / seconds;
                var eta = rate > 0 ? TimeSpan.FromSeconds((value.BytesTotal - value.BytesDone) / rate) : TimeSpan.Zero;
                var line = string.Create(
                    CultureInfo.InvariantCulture,
                    $"import: {value.FilesDone}/{value.FilesTotal} files, {value.BytesDone / 1e6:0.0}/{value.BytesTotal / 1e6:0.0} MB, {rate / 1e6:0.0} MB/s, ETA {eta:hh\\:mm\\:ss}");
                if (console.OutputIsTerminal)
                {
                    console.Error.Write("\r" + line.PadRight(100));
                    _wroteTerminalLine = true;
                }
                else
                {
                    console.Error.WriteLine(line);
                }
            }
        }

        public void Finish()
        {
            if (_wroteTerminalLine)
            {
                console.Error.WriteLine();
            }
        }
    }
}
