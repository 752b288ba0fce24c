-- 007_task_type: a task is a 'reminder' or an 'action'.
ALTER TABLE scheduled_tasks ADD COLUMN task_type TEXT NOT NULL DEFAULT 'reminder';
