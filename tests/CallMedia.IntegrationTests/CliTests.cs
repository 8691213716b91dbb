using System.Net;
using System.Text.Json;
using CallMedia.Data;
using CallMedia.IntegrationTests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>The admin CLI, run against the data folder of a running server.</summary>
public sealed class CliTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task UserAdd_WithRoleAndScope_CanSignInAndIsListed()
    {
        var (exit, _, error) = await Server.CliAsync("pw-alice-1\n", "user", "add", "alice", "--role", "listener", "--scope", "2001,2002");
        Assert.True(exit == 0, error);

        using var client = Server.CreateClient();
        await CallRec.LoginAsync(client, "alice", "pw-alice-1");

        var (listExit, json, _) = await Server.CliAsync("", "user", "list", "--json");
        Assert.Equal(0, listExit);
        var alice = JsonDocument.Parse(json).RootElement.EnumerateArray().Single(u => u.GetProperty("name").GetString() == "alice");
        Assert.Equal(["listener"], alice.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(["2001", "2002"], alice.GetProperty("scope").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public async Task UserGrant_AddsRights()
    {
        await Server.CliAsync("pw-bob-1\n", "user", "add", "bob", "--role", "listener");
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client, "bob", "pw-bob-1");
        Assert.Equal(HttpStatusCode.Forbidden, (await CallRec.TokenAsync(client, session, "id_call[]=1001&action=download")).Status);

        var (exit, _, error) = await Server.CliAsync("", "user", "grant", "bob", "downloader");
        Assert.True(exit == 0, error);
        await Server.AwaitChangesFromElsewhereAsync();
        Assert.Equal(HttpStatusCode.OK, (await CallRec.TokenAsync(client, session, "id_call[]=1001&action=download")).Status);
    }

    [Fact]
    public async Task UserRevoke_ARoleNotHeld_SaysSoAndLeavesTheOthersAsTheyWere()
    {
        await Server.CliAsync("pw-una-12\n", "user", "add", "una", "--role", "listener");
        var (exit, output, error) = await Server.CliAsync("", "user", "revoke", "una", "supervisor");
        Assert.True(exit == 0, error);
        Assert.Equal("user una: did not have supervisor; nothing changed", output.Trim());

        var (both, bothOutput, bothError) = await Server.CliAsync("", "user", "revoke", "una", "supervisor", "listener");
        Assert.True(both == 0, bothError);
        Assert.Equal(["user una: did not have supervisor", "user una: revoke done"], bothOutput.Trim().Split('\n'));
        var (_, json, _) = await Server.CliAsync("", "user", "list", "--json");
        var una = JsonDocument.Parse(json).RootElement.EnumerateArray().Single(u => u.GetProperty("name").GetString() == "una");
        Assert.Empty(una.GetProperty("roles").EnumerateArray());
    }

    [Fact]
    public async Task StorageKeys_NoKeyConfigured_SaysSo()
    {
        var (exit, output, error) = await Server.CliAsync("", "storage", "keys");
        Assert.True(exit == 0, error);
        Assert.StartsWith("storage keys: no master key configured", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserDisable_EndsSessionsWithinThePollInterval()
    {
        await Server.CliAsync("pw-carol-1\n", "user", "add", "carol", "--role", "supervisor");
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client, "carol", "pw-carol-1");
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");

        var (exit, _, error) = await Server.CliAsync("", "user", "disable", "carol");
        Assert.True(exit == 0, error);
        await Server.AwaitChangesFromElsewhereAsync();

        using var response = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var login = await client.GetStringAsync("/callrec/loginservlet?loginname=carol&password=pw-carol-1");
        Assert.Contains("Access denied.", login, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserPasswd_EndsSessionsAndRevokesTokens()
    {
        await Server.CliAsync("pw-gwen-1\n", "user", "add", "gwen", "--role", "supervisor");
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client, "gwen", "pw-gwen-1");
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");

        var (exit, _, error) = await Server.CliAsync("pw-gwen-2\n", "user", "passwd", "gwen");
        Assert.True(exit == 0, error);
        await Server.AwaitChangesFromElsewhereAsync();

        // The old session is over at its next request...
        Assert.Equal(HttpStatusCode.Found, (await CallRec.TokenAsync(client, session, "id_call[]=1001")).Status);
        using (var response = await client.SendAsync(CallRec.Send(session, token)))
        {
            Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        }

        // ...and its unredeemed token is revoked, not merely orphaned: refused even to the user's new session.
        using var fresh = Server.CreateClient();
        var newSession = await CallRec.LoginAsync(fresh, "gwen", "pw-gwen-2");
        using (var response = await fresh.SendAsync(CallRec.Send(newSession, token)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        var db = Server.Services.GetRequiredService<Database>();
        await using var connection = await db.OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM tokens t JOIN users u ON u.id = t.user_id WHERE u.name = 'gwen' AND t.revoked = 0 AND t.redeemed_at IS NULL"));
    }

    [Theory]
    [InlineData("user add dave --role nosuchrole", "unknown role")]
    [InlineData("user add demo --role listener", "already exists")]
    [InlineData("user add DEMO --role listener", "user 'demo' already exists, and 'DEMO' differs from it only in letter case")]
    [InlineData("user add Démo --role listener", "user 'demo' already exists, and 'Démo' differs from it only in letter case")]
    [InlineData("user grant nobody listener", "no user")]
    [InlineData("user frobnicate x", "unknown user command")]
    [InlineData("teleport", "unknown command")]
    [InlineData("user add", "missing user name")]
    public async Task BadCommands_ExitNonZeroWithOneLine(string command, string expected)
    {
        var (exit, _, error) = await Server.CliAsync("pw-whatever\n", command.Split(' '));
        Assert.NotEqual(0, exit);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("prepare 99999", 1, "callmedia: no couple 99999")]
    [InlineData("storage migrate --to s4", 2, "callmedia: --to must be s3, not 's4'")]
    public async Task Commands_ExitOneWhenTheyFail_TwoWhenTheCommandLineIsWrong(string command, int code, string expected)
    {
        var (exit, output, error) = await Server.CliAsync("", command.Split(' '));
        Assert.Equal(code, exit);
        Assert.Equal("", output);
        Assert.Equal(expected, error.Trim());
    }

    [Theory]
    [InlineData("12x")]
    [InlineData("abc def,,;")]
    [InlineData("2001,,2002")]
    [InlineData("2001,")]
    [InlineData("+")]
    [InlineData("all,2001")]
    [InlineData("-2001")]
    public async Task UserScope_NotAllNorNumbers_IsRefusedAndChangesNothing(string scope)
    {
        var before = await ScopeOfAsync("demo");
        var (exit, output, error) = await Server.CliAsync("", "user", "scope", "demo", scope);
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Contains("a scope is 'all' or a comma-separated list of numbers", error, StringComparison.Ordinal);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(before, await ScopeOfAsync("demo"));
    }

    [Fact]
    public async Task UserAdd_BadScope_IsRefusedAndAddsNoUser()
    {
        var (exit, _, error) = await Server.CliAsync("pw-gina-1234\n", "user", "add", "gina", "--role", "listener", "--scope", "12x");
        Assert.Equal(2, exit);
        Assert.Contains("'12x' is not a number", error, StringComparison.Ordinal);
        var (_, json, _) = await Server.CliAsync("", "user", "list", "--json");
        Assert.DoesNotContain(JsonDocument.Parse(json).RootElement.EnumerateArray(), u => u.GetProperty("name").GetString() == "gina");
    }

    [Fact]
    public async Task UserScope_NumbersWithAPlus_AreStored()
    {
        Assert.Equal(0, (await Server.CliAsync("pw-frank-123\n", "user", "add", "frank", "--role", "listener")).Exit);
        var (exit, _, error) = await Server.CliAsync("", "user", "scope", "frank", " +15550100, 2001 ");
        Assert.True(exit == 0, error);
        Assert.Equal(["+15550100", "2001"], await ScopeOfAsync("frank"));
        // Written for people and scripts, not a web page: the plus is not escaped as \u002B.
        Assert.Contains("\"+15550100\"", (await Server.CliAsync("", "user", "list", "--json")).Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prepare_OnATerminal_RewritesOneProgressLine_OtherwisePrintsPlainLines()
    {
        List<long> unmixed;
        await using (var connection = await Server.Services.GetRequiredService<Database>().OpenAsync())
        {
            unmixed = (await connection.QueryAsync<long>("SELECT id FROM couples WHERE (types & 32) <> 0 AND (types & 16) = 0 ORDER BY id")).ToList();
        }

        Assert.True(unmixed.Count >= 2, "the demo data has screen captures to mix");
        var dll = typeof(CallMedia.Cli.CliApp).Assembly.Location;
        var command = string.Join(' ', ((string[])["dotnet", dll, "prepare", unmixed[0].ToString(System.Globalization.CultureInfo.InvariantCulture), .. Server.DatabaseArgs])
            .Select(CallMedia.Media.Ffmpeg.ShellQuote));

        // `script` gives the command a pseudo-terminal, as an operator's shell would.
        var (exit, output, error) = await Tool.RunAsync("script", ["-qec", command, "/dev/null"]);
        Assert.True(exit == 0, output + error);
        Assert.Matches(@"\rprepare: \[[#.]{20}\] +\d+%  [01]/1 videos", output);
        Assert.Contains("prepare: [####################] 100%  1/1 videos", output, StringComparison.Ordinal);
        Assert.Contains("prepare: 1 videos ready, 0 failed", output, StringComparison.Ordinal);

        var (plainExit, plainOut, plainError) = await Server.CliAsync("", "prepare", unmixed[1].ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(plainExit == 0, plainError);
        Assert.DoesNotContain('\r', plainOut + plainError);
        Assert.Contains("prepare: [####################] 100%  1/1 videos\n", plainError, StringComparison.Ordinal);
        Assert.Contains("prepare: 1 videos ready, 0 failed", plainOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallsList_Json_HasDemoCouplesWithTypes()
    {
        var (exit, json, error) = await Server.CliAsync("", "calls", "list", "--json");
        Assert.True(exit == 0, error);
        var couples = JsonDocument.Parse(json).RootElement.EnumerateArray().ToList();
        Assert.True(couples.Count >= 28);
        var mixed = couples.Single(c => c.GetProperty("id").GetInt64() == 1028);
        Assert.Equal(["audio", "video", "recd"], mixed.GetProperty("types").EnumerateArray().Select(t => t.GetString()));
        Assert.EndsWith("Z", mixed.GetProperty("start").GetString(), StringComparison.Ordinal);

        // Newest first, and --limit keeps the newest.
        var starts = couples.Select(c => DateTimeOffset.Parse(c.GetProperty("start").GetString()!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(starts.OrderDescending(), starts);
        var (_, limited, _) = await Server.CliAsync("", "calls", "list", "--json", "--limit", "2");
        Assert.Equal(
            couples.Take(2).Select(c => c.GetProperty("id").GetInt64()),
            JsonDocument.Parse(limited).RootElement.EnumerateArray().Select(c => c.GetProperty("id").GetInt64()));
    }

    [Fact]
    public async Task TimeOptions_OnlyIso8601InOrder_ElseAUsageErrorAndNothingChanged()
    {
        // 03/12/2026 is 3 December to some and 12 March to others: refused, never guessed (a hold on the wrong
        // months would keep the wrong calls).
        foreach (var args in (string[][])[
            ["calls", "list", "--to", "03/12/2026"],
            ["audit", "export", "--from", "3 Dec"],
            ["retention", "hold", "add", "--reason", "court order", "--from", "11/01/2026"],
            ["calls", "list", "--from", "2026-11-25", "--to", "2026-11-20"],
            ["retention", "hold", "add", "--reason", "court order", "--from", "2026-11-25", "--to", "2026-11-20"]])
        {
            var (exit, output, error) = await Server.CliAsync("", args);
            Assert.True(exit == 2, $"{string.Join(' ', args)}: exit {exit}, {output}{error}");
            Assert.Matches("must be a time such as 2026-11-16|--from is after --to", error);
        }

        var (listed, holds, _) = await Server.CliAsync("", "retention", "hold", "list");
        Assert.Equal(0, listed);
        Assert.DoesNotContain("court order", holds, StringComparison.Ordinal);
        var (ok, calls, okError) = await Server.CliAsync("", "calls", "list", "--from", "2026-01-01 00:00", "--to", "2100-01-01T00:00:00+01:00");
        Assert.True(ok == 0, okError);
        Assert.Contains("1028", calls, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RoleCommands_CustomRoleGrantsExactlyItsRights_BuiltinsAreFixed()
    {
        Assert.Equal(0, (await Server.CliAsync("", "role", "add", "reviewer", "audio.stream")).Exit);
        await Server.CliAsync("pw-erin-12\n", "user", "add", "erin", "--role", "reviewer");
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client, "erin", "pw-erin-12");
        Assert.Equal(HttpStatusCode.OK, (await CallRec.TokenAsync(client, session, "id_call[]=1001")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await CallRec.TokenAsync(client, session, "id_call[]=1028&type=16")).Status);

        Assert.Equal(0, (await Server.CliAsync("", "role", "grant", "reviewer", "video.stream")).Exit);
        await Server.AwaitChangesFromElsewhereAsync();
        Assert.Equal(HttpStatusCode.OK, (await CallRec.TokenAsync(client, session, "id_call[]=1028&type=16")).Status);

        var (exit, _, error) = await Server.CliAsync("", "role", "revoke", "supervisor", "video.prepare");
        Assert.Equal(1, exit);
        Assert.Contains("built in", error, StringComparison.Ordinal);
        var (badExit, _, badError) = await Server.CliAsync("", "role", "add", "x", "audio.everything");
        Assert.Equal(1, badExit);
        Assert.Contains("unknown right", badError, StringComparison.Ordinal);

        var (_, json, _) = await Server.CliAsync("", "role", "list", "--json");
        var reviewer = JsonDocument.Parse(json).RootElement.EnumerateArray().Single(r => r.GetProperty("name").GetString() == "reviewer");
        Assert.Equal(["audio.stream", "video.stream"], reviewer.GetProperty("rights").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public async Task Serve_BoundBeyondLoopback_GivesTheDemoUserARandomPassword()
    {
        var data = await DemoTemplate.CopyAsync();
        try
        {
            await using var app = CallMedia.App.ServerHost.Build([$"--CallMedia:Data={data}", "--urls=http://0.0.0.0:0"]);
            var signIn = await CallMedia.App.ServerHost.PrepareAsync(app, demo: true);
            Assert.NotNull(signIn);
            Assert.DoesNotContain("password=demo ", signIn + " ", StringComparison.Ordinal);
            var users = app.Services.GetRequiredService<CallMedia.Auth.UserStore>();
            var demo = await users.FindForLoginAsync("demo");
            Assert.False(CallMedia.Auth.PasswordHashing.Verify(demo!.Value.PasswordHash, "demo"));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }

    private async Task<List<string?>> ScopeOfAsync(string name)
    {
        var (_, json, _) = await Server.CliAsync("", "user", "list", "--json");
        return JsonDocument.Parse(json).RootElement.EnumerateArray().Single(u => u.GetProperty("name").GetString() == name)
            .GetProperty("scope").EnumerateArray().Select(s => s.GetString()).ToList();
    }
}
