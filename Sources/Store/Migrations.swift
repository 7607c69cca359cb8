import GRDB

/// Schema history. Append new migrations; never edit one that has shipped.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-rooms-participants-egress") { db in
            try db.execute(sql: """
                CREATE TABLE room (
                    sid TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    metadata TEXT NOT NULL DEFAULT '',
                    empty_timeout INTEGER NOT NULL,
                    departure_timeout INTEGER NOT NULL,
                    max_participants INTEGER NOT NULL,
                    created_at_ms INTEGER NOT NULL,
                    closed_at_ms INTEGER
                );
                -- A name is reused after a room closes, but only one open room per name.
                CREATE UNIQUE INDEX room_open_name ON room(name) WHERE closed_at_ms IS NULL;

                CREATE TABLE participant_session (
                    participant_sid TEXT PRIMARY KEY NOT NULL,
                    room_sid TEXT NOT NULL REFERENCES room(sid),
                    room_name TEXT NOT NULL,
                    identity TEXT NOT NULL,
                    name TEXT NOT NULL DEFAULT '',
                    joined_at_ms INTEGER NOT NULL,
                    left_at_ms INTEGER,
                    disconnect_reason TEXT
                );
                CREATE INDEX participant_session_room ON participant_session(room_sid);

                CREATE TABLE egress (
                    egress_id TEXT PRIMARY KEY NOT NULL,
                    room_sid TEXT NOT NULL,
                    room_name TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    info BLOB NOT NULL,
                    updated_at_ms INTEGER NOT NULL
                );
                CREATE INDEX egress_room ON egress(room_name);
                """)
        }
        return m
    }
}
